"""Registrable domains, URL normalisation, e-mail validity and the free-mail lists."""

from __future__ import annotations

import pytest

from target_salesforce_aimdoc.domains import (
    FreeMail,
    email_domain,
    email_host,
    is_valid_email,
    normalize_email,
    registrable_domain,
    website_domain,
    website_host,
    website_variants,
)


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("jane@acme.com", "acme.com"),
        ("jane@mail.acme.co.uk", "acme.co.uk"),
        ("Jane@Sales.ACME.com", "acme.com"),
        ("  jane@acme.com.  ", "acme.com"),
        ("jane@a.b.c.acme.com.au", "acme.com.au"),
        ("jane@acme.myshopify.com", "acme.myshopify.com"),  # private suffix: one shop each
        ("jane@xn--bcher-kva.de", "bücher.de"),
        ("jane@Bücher.de", "bücher.de"),
        ("jane@co.uk", None),
        ("jane@localhost", None),
        ("jane@[192.168.0.1]", None),
        ("jane@192.168.0.1", None),
        ("jane.acme.com", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_email_domain_is_the_registrable_domain(email, domain):
    assert email_domain(email) == domain


def test_email_host_keeps_subdomains():
    assert email_host("Jane@Mail.Acme.co.uk") == "mail.acme.co.uk"


def test_normalize_email_trims_and_lowercases():
    assert normalize_email("  Jane.Doe@ACME.com \n") == "jane.doe@acme.com"
    assert normalize_email("   ") is None
    assert normalize_email(None) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://www.acme.com/",
        "acme.com",
        "ACME.com/about",
        "https://www.Acme.com/about",
        "http://www.acme.com:8080/path?q=1#top",
        "//acme.com",
        "https://user:pw@www.acme.com",
        "  www.acme.com  ",
        "https://shop.acme.com/",
    ],
)
def test_website_domain_normalises_urls(url):
    assert website_domain(url) == "acme.com"


def test_website_domain_public_suffix_and_idna():
    assert website_domain("sub.acme.co.uk") == "acme.co.uk"
    assert website_domain("https://www.Bücher.de/x") == "bücher.de"
    assert website_domain("http://xn--bcher-kva.de") == "bücher.de"


def test_website_host_strips_www_scheme_port_and_path_only():
    assert website_host("https://WWW.Shop.Acme.com:443/a/b") == "shop.acme.com"
    assert website_host("www.com") == "www.com"  # a bare www.<tld> is a real name


@pytest.mark.parametrize("url", ["", "   ", None, "https://", "http://exa mple.com", "://"])
def test_website_without_a_host_is_none(url):
    assert website_domain(url) is None


def test_registrable_domain_rejects_suffixes_and_addresses():
    assert registrable_domain("co.uk") is None
    assert registrable_domain("10.0.0.1") is None
    assert registrable_domain("localhost") is None
    assert registrable_domain("a.b.acme.io") == "acme.io"


def test_website_variants_cover_scheme_www_and_slash():
    variants = website_variants("acme.com")
    for expected in ["acme.com", "www.acme.com/", "https://www.acme.com/", "http://acme.com"]:
        assert expected in variants
    assert len(variants) == len(set(variants)) == 12


@pytest.mark.parametrize(
    "email",
    [
        "jane@acme.com",
        "o'brien@acme.com",
        "first.last+tag@sub.acme.co.uk",
        "j@bücher.de",
        " JANE@ACME.COM ",
    ],
)
def test_valid_emails(email):
    assert is_valid_email(email)


@pytest.mark.parametrize(
    "email",
    [
        "o'brien\"x@acme.com",
        "x' OR Name != '@acme.com",
        "jane@acme",
        "jane@@acme.com",
        "jane@acme..com",
        ".jane@acme.com",
        "ja..ne@acme.com",
        "jane@-acme.com",
        "jane@acme.c0m",
        "jane doe@acme.com",
        "@acme.com",
        "jane@",
        "a" * 70 + "@acme.com",
        "j@" + "a" * 75 + ".com",
        None,
        123,
    ],
)
def test_invalid_emails(email):
    assert not is_valid_email(email)


def test_shipped_lists_cover_free_mail_and_disposable():
    lists = FreeMail()
    assert lists.is_free("jane@gmail.com")
    assert lists.is_free("GMAIL.com")
    assert lists.is_free("jane@mailinator.com")  # disposable
    assert not lists.is_free("jane@acme.com")
    assert not lists.is_free(None)
    assert not lists.is_free("not an address@")


def test_deny_adds_and_covers_subdomains():
    lists = FreeMail.from_lists(deny=["https://www.Acme-Mail.com/"])
    assert lists.deny == frozenset({"acme-mail.com"})
    assert lists.is_free("x@acme-mail.com")
    assert lists.is_free("x@eu.acme-mail.com")
    assert not FreeMail().is_free("x@acme-mail.com")


def test_allow_removes_a_shipped_domain():
    assert FreeMail().is_free("x@alibaba.com")  # on the shipped list, yet a company
    lists = FreeMail.from_lists(allow=["alibaba.com"])
    assert not lists.is_free("x@alibaba.com")
    assert lists.company_domain("x@alibaba.com") == "alibaba.com"
    assert lists.is_free("x@gmail.com")


def test_most_specific_listed_level_wins():
    lists = FreeMail.from_lists(allow=["acme.com"], deny=["mail.acme.com"])
    assert lists.is_free("x@mail.acme.com")
    assert lists.is_free("x@eu.mail.acme.com")
    assert not lists.is_free("x@acme.com")
    assert not lists.is_free("x@sales.acme.com")


def test_company_domain_is_none_for_free_mail():
    lists = FreeMail()
    assert lists.company_domain("jane@gmail.com") is None
    assert lists.company_domain("jane@mailinator.com") is None
    assert lists.company_domain("jane@sales.acme.com") == "acme.com"
    assert lists.company_domain("not an email") is None
