"""The emulator's SOQL subset: parsing, typing, SQL semantics and record shaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from simple_salesforce.format import format_soql

from aimdoc_emulators.salesforce import store
from aimdoc_emulators.salesforce.metadata import Catalog
from aimdoc_emulators.salesforce.soql import (
    QueryResult,
    SoqlError,
    date_literal_span,
    parse,
    run_query,
    to_sql,
)

NOW = datetime(2024, 3, 10, 15, 30, tzinfo=UTC)
NO_SUCH_COLUMN = (
    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom "
    "field, be sure to append the '__c' after the custom field name. Please reference your "
    "WSDL or the describe call for the appropriate names."
)


def to18(id15: str) -> str:
    """Spec §4.4, written out independently of the module under test."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    out = id15
    for chunk in range(3):
        bits = 0
        for i in range(5):
            if "A" <= id15[chunk * 5 + i] <= "Z":
                bits |= 1 << i
        out += alphabet[bits]
    return out


def sfid(prefix: str, n: int) -> str:
    return to18(f"{prefix}5e0000000{n:03d}")


USER = sfid("005", 1)
ACME = sfid("001", 1)
GLOBEX = sfid("001", 2)
C_JANE = sfid("003", 1)
C_ORPHAN = sfid("003", 2)
C_DANGLING = sfid("003", 3)
L_JD, L_OBRIEN, L_NULL, L_SALE, L_BACKSLASH, L_ESCAPES, L_GONE = (
    sfid("00Q", n) for n in range(1, 8)
)
ESCAPED_TITLE = "a\nb\rc\td\be\ff\"g'h\\i\u00e9"


def insert(conn, table: str, **values) -> None:
    values.setdefault("IsDeleted", 0)
    columns = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks})', list(values.values()))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture(scope="module")
def conn(catalog):
    db = store.connect()
    store.create_schema(db, catalog)
    insert(
        db,
        "User",
        Id=USER,
        Username="admin@emu",
        LastName="User",
        Name="Admin User",
        Email="admin@emu.example",
        IsActive=1,
    )
    insert(db, "Account", Id=ACME, Name="Acme", OwnerId=USER, NumberOfEmployees=500)
    insert(db, "Account", Id=GLOBEX, Name="globex", OwnerId=None)
    insert(
        db,
        "Contact",
        Id=C_JANE,
        LastName="Smith",
        FirstName="Jane",
        Email="jane@acme.com",
        AccountId=ACME,
        Birthdate="1990-05-01",
    )
    insert(db, "Contact", Id=C_ORPHAN, LastName="Orphan", Email="orphan@nowhere.com")
    insert(db, "Contact", Id=C_DANGLING, LastName="Dangling", AccountId=sfid("001", 99))
    insert(
        db,
        "Lead",
        Id=L_JD,
        FirstName="John",
        LastName="Doe",
        Email="jd@acme.com",
        Company="Acme",
        IsConverted=0,
        NumberOfEmployees=50,
        Aimdoc_Score__c=7.5,
        Aimdoc_Last_Conversation__c="2024-03-01T10:00:00.000+0000",
        LeadSource="Web",
        HasOptedOutOfEmail=0,
        Status="Open - Not Contacted",
    )
    insert(
        db,
        "Lead",
        Id=L_OBRIEN,
        LastName="O'Brien",
        Email="o'brien@x.com",
        Company="X Ltd",
        IsConverted=0,
        NumberOfEmployees=10,
        Aimdoc_Score__c=3.0,
        Aimdoc_Last_Conversation__c="2024-03-02T00:00:00.000+0000",
        HasOptedOutOfEmail=1,
        Status="Working - Contacted",
    )
    insert(
        db,
        "Lead",
        Id=L_NULL,
        LastName="Nullman",
        Email=None,
        Company="50% off_sale",
        IsConverted=1,
        ConvertedDate="2024-03-09",
        ConvertedContactId=C_JANE,
        HasOptedOutOfEmail=0,
        Status="Closed - Converted",
        Aimdoc_Last_Conversation__c="2024-03-10T09:00:00.000+0000",
    )
    insert(
        db,
        "Lead",
        Id=L_SALE,
        LastName="apple",
        Email="sale@shop.com",
        Company="50X offXsale",
        IsConverted=0,
        NumberOfEmployees=200,
        HasOptedOutOfEmail=0,
        Status="Open - Not Contacted",
        ConvertedDate="2024-02-01",
    )
    insert(
        db,
        "Lead",
        Id=L_BACKSLASH,
        LastName="o\\'brien",
        Email="back\\slash@x.com",
        Company="Banana",
        IsConverted=0,
        HasOptedOutOfEmail=0,
        Status="Open - Not Contacted",
    )
    insert(
        db,
        "Lead",
        Id=L_ESCAPES,
        LastName="Escapes",
        Title=ESCAPED_TITLE,
        Company="Esc",
        Email="esc@x.com",
        IsConverted=0,
        HasOptedOutOfEmail=0,
        Status="Open - Not Contacted",
    )
    insert(
        db,
        "Lead",
        Id=L_GONE,
        LastName="Gone",
        Email="gone@acme.com",
        Company="Acme",
        IsConverted=0,
        HasOptedOutOfEmail=0,
        Status="Open - Not Contacted",
        IsDeleted=1,
    )
    yield db
    db.close()


def query(conn, catalog, soql: str, **kwargs) -> QueryResult:
    kwargs.setdefault("now", NOW)
    return run_query(conn, catalog, soql, **kwargs)


def ids(conn, catalog, soql: str, **kwargs) -> list[str]:
    records = query(conn, catalog, soql, **kwargs).records
    return [record["attributes"]["url"].rsplit("/", 1)[1] for record in records]


def where(conn, catalog, condition: str, **kwargs) -> set[str]:
    return set(ids(conn, catalog, f"SELECT Id FROM Lead WHERE {condition}", **kwargs))


def error(conn, catalog, soql: str, **kwargs) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        query(conn, catalog, soql, **kwargs)
    return caught.value


ALL_LIVE = {L_JD, L_OBRIEN, L_NULL, L_SALE, L_BACKSLASH, L_ESCAPES}


# -- SELECT and result shaping ---------------------------------------------------------------
def test_records_are_shaped_with_canonical_names_and_json_types(conn, catalog):
    result = query(
        conn,
        catalog,
        "select id, EMAIL, isconverted, numberofemployees, aimdoc_score__c, "
        "Aimdoc_Last_Conversation__c, leadsource from lead where id = '" + L_JD + "'",
        api_version="60.0",
    )
    assert result.sobject == "Lead"
    assert result.total_size == 1
    assert result.records == [
        {
            "attributes": {"type": "Lead", "url": f"/services/data/v60.0/sobjects/Lead/{L_JD}"},
            "Id": L_JD,
            "Email": "jd@acme.com",
            "IsConverted": False,
            "NumberOfEmployees": 50,
            "Aimdoc_Score__c": 7.5,
            "Aimdoc_Last_Conversation__c": "2024-03-01T10:00:00.000+0000",
            "LeadSource": "Web",
        }
    ]
    record = result.records[0]
    assert isinstance(record["NumberOfEmployees"], int)
    assert list(record) == [
        "attributes",
        "Id",
        "Email",
        "IsConverted",
        "NumberOfEmployees",
        "Aimdoc_Score__c",
        "Aimdoc_Last_Conversation__c",
        "LeadSource",
    ]


def test_url_has_the_id_even_when_id_is_not_selected_and_nulls_are_none(conn, catalog):
    record = query(
        conn, catalog, f"SELECT Email, Aimdoc_Score__c FROM Lead WHERE Id = '{L_NULL}'"
    ).records[0]
    assert record == {
        "attributes": {"type": "Lead", "url": f"/services/data/v59.0/sobjects/Lead/{L_NULL}"},
        "Email": None,
        "Aimdoc_Score__c": None,
    }


def test_unfiltered_select_returns_live_rows_in_creation_order(conn, catalog):
    assert ids(conn, catalog, "SELECT Id FROM Lead") == [
        L_JD,
        L_OBRIEN,
        L_NULL,
        L_SALE,
        L_BACKSLASH,
        L_ESCAPES,
    ]


def test_duplicate_field_is_invalid_field(conn, catalog):
    exc = error(conn, catalog, "SELECT Id, Email, id FROM Lead")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message == "duplicate field selected: Id"


# -- comparison operators and null semantics ---------------------------------------------------
def test_string_equals_is_case_insensitive(conn, catalog):
    assert where(conn, catalog, "Email = 'JD@ACME.com'") == {L_JD}
    assert where(conn, catalog, "LastName = 'O\\'BRIEN'") == {L_OBRIEN}


def test_not_equals_includes_nulls(conn, catalog):
    assert where(conn, catalog, "Email != 'jd@acme.com'") == ALL_LIVE - {L_JD}
    assert L_NULL in where(conn, catalog, "Email != 'jd@acme.com'")


def test_null_literal(conn, catalog):
    assert where(conn, catalog, "Email = null") == {L_NULL}
    assert where(conn, catalog, "Email != NULL") == ALL_LIVE - {L_NULL}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("NumberOfEmployees < 50", {L_OBRIEN}),
        ("NumberOfEmployees <= 50", {L_OBRIEN, L_JD}),
        ("NumberOfEmployees > 50", {L_SALE}),
        ("NumberOfEmployees >= 50", {L_JD, L_SALE}),
        ("NumberOfEmployees = 50", {L_JD}),
        ("NumberOfEmployees != 50", ALL_LIVE - {L_JD}),
        ("Aimdoc_Score__c > 3.5", {L_JD}),
        ("Aimdoc_Score__c >= 3", {L_JD, L_OBRIEN}),
        ("Aimdoc_Score__c < -1", set()),
        ("NOT NumberOfEmployees > 10", ALL_LIVE - {L_JD, L_SALE}),
        ("LastName < 'b'", {L_SALE}),
        ("Company >= 'x'", {L_OBRIEN}),
    ],
)
def test_ordering_operators_skip_nulls(conn, catalog, condition, expected):
    assert where(conn, catalog, condition) == expected


def test_ordering_operator_against_null_matches_nothing(conn, catalog):
    assert where(conn, catalog, "NumberOfEmployees > null") == set()


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Email IN ('JD@acme.com', 'sale@shop.com')", {L_JD, L_SALE}),
        ("Email IN ('jd@acme.com', null)", {L_JD, L_NULL}),
        ("Email NOT IN ('jd@acme.com')", ALL_LIVE - {L_JD}),
        ("Email NOT IN ('jd@acme.com', null)", ALL_LIVE - {L_JD, L_NULL}),
        ("NumberOfEmployees IN (10, 200)", {L_OBRIEN, L_SALE}),
        ("NumberOfEmployees NOT IN (10, 200)", ALL_LIVE - {L_OBRIEN, L_SALE}),
        ("Email IN ('nobody@x.com')", set()),
    ],
)
def test_in_and_not_in(conn, catalog, condition, expected):
    assert where(conn, catalog, condition) == expected


# -- LIKE -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Email LIKE '%@ACME.COM'", {L_JD}),
        ("Email LIKE 'jd%'", {L_JD}),
        ("Email LIKE '_d@acme.com'", {L_JD}),
        ("Email LIKE '_@acme.com'", set()),
        ("Company LIKE '50_ off_sale'", {L_NULL, L_SALE}),
        ("Company LIKE '50\\% off\\_sale'", {L_NULL}),
        ("Company LIKE '50\\%%'", {L_NULL}),
        ("Company LIKE '%\\_%'", {L_NULL}),
        ("Email LIKE '%\\\\%'", {L_BACKSLASH}),
        ("NOT Email LIKE '%acme%'", ALL_LIVE - {L_JD}),
    ],
)
def test_like(conn, catalog, condition, expected):
    assert where(conn, catalog, condition) == expected


def test_like_sql_keeps_the_pattern_escaped(catalog):
    sql, params = to_sql(catalog, "SELECT Id FROM Lead WHERE Company LIKE '50\\% off\\_s\\\\'")
    assert "sf_like(?, " in sql
    assert params == ["50\\% off\\_s\\\\"]


def test_like_escapes_outside_like_are_malformed(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE Company = '50\\% off'")
    assert exc.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence '\\%' in string literal." in exc.message


def test_like_on_an_id_field_is_an_invalid_operator(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE Id LIKE '00Q%'")
    assert exc.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert exc.message.endswith("invalid operator on id field")


def test_like_needs_a_string(conn, catalog):
    assert error(conn, catalog, "SELECT Id FROM Lead WHERE Email LIKE 5").error_code == (
        "MALFORMED_QUERY"
    )


# -- logic ------------------------------------------------------------------------------------
def test_and_or_not_and_parentheses(conn, catalog):
    assert where(conn, catalog, "Company = 'Acme' AND Email = 'jd@acme.com'") == {L_JD}
    assert where(
        conn, catalog, "Email = 'jd@acme.com' OR Email = 'sale@shop.com' OR Email = null"
    ) == {L_JD, L_SALE, L_NULL}
    assert where(
        conn,
        catalog,
        "(Email = 'jd@acme.com' OR Email = 'sale@shop.com') AND NumberOfEmployees > 100",
    ) == {L_SALE}
    assert where(
        conn,
        catalog,
        "Email = 'jd@acme.com' OR (Email = 'sale@shop.com' AND NumberOfEmployees > 1000)",
    ) == {L_JD}
    assert where(conn, catalog, "NOT (Email = 'jd@acme.com' OR Email = null)") == (
        ALL_LIVE - {L_JD, L_NULL}
    )
    assert where(conn, catalog, "NOT NOT Email = 'jd@acme.com'") == {L_JD}
    assert where(conn, catalog, "((Email = 'jd@acme.com'))") == {L_JD}
    assert where(conn, catalog, "NOT Email = 'jd@acme.com' AND IsConverted = false") == (
        ALL_LIVE - {L_JD, L_NULL}
    )


@pytest.mark.parametrize(
    ("condition", "bad"),
    [
        ("Email = 'a' AND Email = 'b' OR Email = 'c'", "OR"),
        ("Email = 'a' OR Email = 'b' and Email = 'c'", "and"),
        ("(Email = 'a' OR Email = 'b') AND Email = 'c' OR IsConverted = true", "OR"),
    ],
)
def test_mixing_and_or_without_parentheses_is_malformed(conn, catalog, condition, bad):
    exc = error(conn, catalog, f"SELECT Id FROM Lead WHERE {condition}")
    assert exc.error_code == "MALFORMED_QUERY"
    assert exc.message.endswith(f"unexpected token: '{bad}'")


# -- typed values -----------------------------------------------------------------------------
def test_booleans(conn, catalog):
    assert where(conn, catalog, "IsConverted = true") == {L_NULL}
    assert where(conn, catalog, "IsConverted = FALSE") == ALL_LIVE - {L_NULL}
    assert where(conn, catalog, "IsConverted != true") == ALL_LIVE - {L_NULL}
    # Salesforce: on a boolean field null matches false.
    assert where(conn, catalog, "HasOptedOutOfEmail = null") == ALL_LIVE - {L_OBRIEN}
    assert where(conn, catalog, "HasOptedOutOfEmail != null") == {L_OBRIEN}
    assert where(conn, catalog, "IsConverted IN (true)") == {L_NULL}


@pytest.mark.parametrize(
    ("condition", "field", "word", "should"),
    [
        ("IsConverted = 'true'", "IsConverted", "boolean", "should not"),
        ("IsConverted = 1", "IsConverted", "boolean", "should not"),
        ("NumberOfEmployees = '50'", "NumberOfEmployees", "integer", "should not"),
        ("Aimdoc_Score__c IN ('1.5')", "Aimdoc_Score__c", "double", "should not"),
        ("ConvertedDate = '2024-03-09'", "ConvertedDate", "date", "should not"),
        ("ConvertedDate = 2024-03-09T00:00:00Z", "ConvertedDate", "date", "should not"),
        (
            "Aimdoc_Last_Conversation__c > 2024-03-01",
            "Aimdoc_Last_Conversation__c",
            "dateTime",
            "should not",
        ),
        (
            "Aimdoc_Last_Conversation__c > '2024-03-01T00:00:00Z'",
            "Aimdoc_Last_Conversation__c",
            "dateTime",
            "should not",
        ),
        ("Email = 5", "Email", "string", "should"),
        ("Email = true", "Email", "string", "should"),
        ("Email = TODAY", "Email", "string", "should"),
        ("NumberOfEmployees = TODAY", "NumberOfEmployees", "integer", "should not"),
    ],
)
def test_value_of_the_wrong_type_is_invalid_field(conn, catalog, condition, field, word, should):
    exc = error(conn, catalog, f"SELECT Id FROM Lead WHERE {condition}")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message.endswith(
        f"value of filter criterion for field '{field}' must be of type {word} and {should} "
        "be enclosed in quotes"
    )


def test_unquoted_word_where_a_string_is_needed_is_malformed(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE Email = jd")
    assert exc.error_code == "MALFORMED_QUERY"
    assert exc.message.endswith("unexpected token: 'jd'")


def test_date_literals(conn, catalog):
    assert where(conn, catalog, "ConvertedDate = 2024-03-09") == {L_NULL}
    assert where(conn, catalog, "ConvertedDate < 2024-03-01") == {L_SALE}
    assert where(conn, catalog, "ConvertedDate != 2024-03-09") == ALL_LIVE - {L_NULL}
    assert where(conn, catalog, "ConvertedDate IN (2024-02-01, 2024-03-09)") == {L_NULL, L_SALE}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Aimdoc_Last_Conversation__c = 2024-03-01T10:00:00Z", {L_JD}),
        ("Aimdoc_Last_Conversation__c = 2024-03-01T10:00:00.000Z", {L_JD}),
        ("Aimdoc_Last_Conversation__c = 2024-03-01T12:00:00+02:00", {L_JD}),
        ("Aimdoc_Last_Conversation__c = 2024-03-01T05:30:00-04:30", {L_JD}),
        ("Aimdoc_Last_Conversation__c = 2024-03-01T12:00:00+0200", {L_JD}),
        ("Aimdoc_Last_Conversation__c >= 2024-03-01T22:00:00-02:00", {L_OBRIEN, L_NULL}),
        ("Aimdoc_Last_Conversation__c > 2024-03-01T22:00:00-02:00", {L_NULL}),
        ("Aimdoc_Last_Conversation__c < 2024-03-02T01:00:00+01:00", {L_JD}),
    ],
)
def test_datetime_literals_are_normalised_to_utc(conn, catalog, condition, expected):
    assert where(conn, catalog, condition) == expected


def test_datetime_without_timezone_is_malformed(conn, catalog):
    exc = error(
        conn, catalog, "SELECT Id FROM Lead WHERE Aimdoc_Last_Conversation__c > 2024-03-01T10:00:00"
    )
    assert exc.error_code == "MALFORMED_QUERY"


def test_impossible_date_is_malformed(conn, catalog):
    assert (
        error(conn, catalog, "SELECT Id FROM Lead WHERE ConvertedDate = 2024-02-30").error_code
        == "MALFORMED_QUERY"
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("ConvertedDate = YESTERDAY", {L_NULL}),
        ("ConvertedDate = TODAY", set()),
        ("ConvertedDate < TODAY", {L_NULL, L_SALE}),
        ("ConvertedDate = LAST_N_DAYS:30", {L_NULL}),
        ("ConvertedDate = LAST_N_DAYS:60", {L_NULL, L_SALE}),
        ("ConvertedDate = N_DAYS_AGO:1", {L_NULL}),
        ("Aimdoc_Last_Conversation__c = TODAY", {L_NULL}),
        ("Aimdoc_Last_Conversation__c < TODAY", {L_JD, L_OBRIEN}),
        ("Aimdoc_Last_Conversation__c >= YESTERDAY", {L_NULL}),
        ("Aimdoc_Last_Conversation__c = LAST_N_DAYS:8", {L_OBRIEN, L_NULL}),
        ("Aimdoc_Last_Conversation__c > TODAY", set()),
        ("Aimdoc_Last_Conversation__c = NEXT_N_DAYS:3", set()),
        ("Aimdoc_Last_Conversation__c != TODAY", ALL_LIVE - {L_NULL}),
    ],
)
def test_date_functions_use_utc_days(conn, catalog, condition, expected):
    assert where(conn, catalog, condition) == expected


# NOW is Sunday 2024-03-10: this week is 10-16 March (weeks start on Sunday), this quarter Q1.
@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("Aimdoc_Last_Conversation__c = THIS_WEEK", {L_NULL}),
        ("Aimdoc_Last_Conversation__c = LAST_WEEK", set()),
        ("Aimdoc_Last_Conversation__c = NEXT_WEEK", set()),
        ("Aimdoc_Last_Conversation__c = LAST_N_WEEKS:2", {L_JD, L_OBRIEN}),
        ("Aimdoc_Last_Conversation__c = N_WEEKS_AGO:2", {L_JD, L_OBRIEN}),
        ("Aimdoc_Last_Conversation__c = THIS_MONTH", {L_JD, L_OBRIEN, L_NULL}),
        ("Aimdoc_Last_Conversation__c < THIS_WEEK", {L_JD, L_OBRIEN}),
        ("Aimdoc_Last_Conversation__c > LAST_WEEK", {L_NULL}),
        ("ConvertedDate = THIS_WEEK", set()),
        ("ConvertedDate = LAST_WEEK", {L_NULL}),
        ("ConvertedDate = THIS_MONTH", {L_NULL}),
        ("ConvertedDate = LAST_MONTH", {L_SALE}),
        ("ConvertedDate = NEXT_MONTH", set()),
        ("ConvertedDate < THIS_MONTH", {L_SALE}),
        ("ConvertedDate >= LAST_MONTH", {L_NULL, L_SALE}),
        ("ConvertedDate = THIS_QUARTER", {L_NULL, L_SALE}),
        ("ConvertedDate = LAST_QUARTER", set()),
        ("ConvertedDate < NEXT_QUARTER", {L_NULL, L_SALE}),
        ("ConvertedDate = THIS_YEAR", {L_NULL, L_SALE}),
        ("ConvertedDate = LAST_YEAR", set()),
        ("ConvertedDate = NEXT_YEAR", set()),
        ("ConvertedDate = THIS_FISCAL_YEAR", {L_NULL, L_SALE}),
        ("ConvertedDate = THIS_FISCAL_QUARTER", {L_NULL, L_SALE}),
        ("ConvertedDate = LAST_N_MONTHS:1", {L_SALE}),
        ("ConvertedDate = NEXT_N_MONTHS:3", set()),
        ("ConvertedDate = N_MONTHS_AGO:1", {L_SALE}),
        ("ConvertedDate = N_MONTHS_AGO:0", {L_NULL}),
        ("ConvertedDate = LAST_N_QUARTERS:4", set()),
        ("ConvertedDate = N_QUARTERS_AGO:0", {L_NULL, L_SALE}),
        ("ConvertedDate = LAST_N_YEARS:5", set()),
        ("ConvertedDate = NEXT_N_YEARS:5", set()),
        ("ConvertedDate = N_YEARS_AGO:0", {L_NULL, L_SALE}),
        ("ConvertedDate = LAST_90_DAYS", {L_NULL, L_SALE}),
        ("ConvertedDate = NEXT_90_DAYS", set()),
        ("ConvertedDate IN (LAST_MONTH, TODAY)", {L_SALE}),
    ],
)
def test_period_date_literals(conn, catalog, condition, expected):
    assert where(conn, catalog, condition) == expected


@pytest.mark.parametrize(
    ("literal", "count", "span"),
    [
        ("THIS_WEEK", 0, ("2024-05-12", "2024-05-19")),
        ("LAST_WEEK", 0, ("2024-05-05", "2024-05-12")),
        ("NEXT_N_WEEKS", 2, ("2024-05-19", "2024-06-02")),
        ("THIS_MONTH", 0, ("2024-05-01", "2024-06-01")),
        ("LAST_N_MONTHS", 6, ("2023-11-01", "2024-05-01")),
        ("NEXT_N_MONTHS", 8, ("2024-06-01", "2025-02-01")),
        ("LAST_QUARTER", 0, ("2024-01-01", "2024-04-01")),
        ("NEXT_N_QUARTERS", 3, ("2024-07-01", "2025-04-01")),
        ("N_QUARTERS_AGO", 2, ("2023-10-01", "2024-01-01")),
        ("LAST_N_FISCAL_YEARS", 2, ("2022-01-01", "2024-01-01")),
        ("LAST_N_DAYS", 1, ("2024-05-14", "2024-05-16")),
        ("NEXT_N_DAYS", 1, ("2024-05-16", "2024-05-17")),
        ("LAST_90_DAYS", 0, ("2024-02-15", "2024-05-16")),
    ],
)
def test_date_literal_spans(literal, count, span):
    wednesday = datetime(2024, 5, 15, tzinfo=UTC).date()
    start, end = date_literal_span(literal, count, wednesday)
    assert (start.isoformat(), end.isoformat()) == span


# -- parent-to-child subqueries ------------------------------------------------------------
def test_child_subquery_nests_records_or_null(conn, catalog):
    records = query(
        conn, catalog,
        "SELECT Name, (SELECT LastName, Email FROM Contacts) , Id FROM Account ORDER BY Name",
    ).records
    assert [list(record) for record in records] == [["attributes", "Name", "Contacts", "Id"]] * 2
    acme, globex = records
    assert acme["Contacts"] == {
        "totalSize": 1,
        "done": True,
        "records": [{
            "attributes": {"type": "Contact",
                           "url": f"/services/data/v59.0/sobjects/Contact/{C_JANE}"},
            "LastName": "Smith", "Email": "jane@acme.com",
        }],
    }
    assert globex["Contacts"] is None


def test_child_subquery_filters_orders_and_limits_per_parent(conn, catalog):
    conn.execute("SAVEPOINT sub")
    try:
        insert(conn, "Contact", Id=sfid("003", 50), LastName="Adams", AccountId=ACME)
        insert(conn, "Contact", Id=sfid("003", 51), LastName="Baker", AccountId=ACME)
        insert(conn, "Contact", Id=sfid("003", 52), LastName="Cole", AccountId=GLOBEX)
        insert(conn, "Contact", Id=sfid("003", 53), LastName="Dead", AccountId=GLOBEX,
               IsDeleted=1)
        soql = ("SELECT Id, (SELECT LastName FROM contacts WHERE LastName != 'Baker' "
                "ORDER BY LastName DESC LIMIT 1) FROM Account ORDER BY Name")
        acme, globex = query(conn, catalog, soql).records
        assert [c["LastName"] for c in acme["Contacts"]["records"]] == ["Smith"]
        assert acme["Contacts"]["totalSize"] == 1
        assert [c["LastName"] for c in globex["Contacts"]["records"]] == ["Cole"]
        everything = query(conn, catalog, "SELECT Id, (SELECT LastName FROM Contacts ORDER BY "
                           "LastName) FROM Account WHERE Name = 'globex'", include_deleted=True)
        names = [c["LastName"] for c in everything.records[0]["Contacts"]["records"]]
        assert names == ["Cole", "Dead"]
    finally:
        conn.execute("ROLLBACK TO sub")
        conn.execute("RELEASE sub")


def test_child_subquery_with_parent_path_and_unknown_relationship(conn, catalog):
    record = query(conn, catalog, "SELECT (SELECT Account.Name FROM Contacts) FROM Account "
                   "WHERE Name = 'Acme'").records[0]
    assert record["Contacts"]["records"][0]["Account"]["Name"] == "Acme"
    exc = error(conn, catalog, "SELECT Id, (SELECT Id FROM Leads) FROM Account")
    assert exc.error_code == "INVALID_TYPE"
    assert "Didn't understand relationship 'Leads' in FROM part of query call" in exc.message
    exc = error(conn, catalog, "SELECT Id, (SELECT Nope FROM Contacts) FROM Account")
    assert exc.error_code == "INVALID_FIELD"
    assert "No such column 'Nope' on entity 'Contact'" in exc.message


def test_subquery_is_in_the_tree():
    tree = parse("SELECT Id, (SELECT Id FROM Contacts LIMIT 5), Name FROM Account")
    assert [field.parts for field in tree.fields] == [("Id",), ("Name",)]
    (sub,) = tree.subqueries
    assert (sub.position, sub.query.sobject, sub.query.limit) == (1, "Contacts", 5)


# -- ids --------------------------------------------------------------------------------------
def test_fifteen_character_ids_are_accepted_case_sensitively(conn, catalog):
    assert to18("001R00000064wdt") == "001R00000064wdtIAA"
    assert where(conn, catalog, f"Id = '{L_JD[:15]}'") == {L_JD}
    assert where(conn, catalog, f"Id = '{L_JD[:15].lower()}'") == set()
    assert where(conn, catalog, f"Id IN ('{L_JD[:15]}', '{L_SALE}')") == {L_JD, L_SALE}
    assert where(conn, catalog, f"ConvertedContactId = '{C_JANE[:15]}'") == {L_NULL}
    assert set(ids(conn, catalog, f"SELECT Id FROM Contact WHERE AccountId = '{ACME[:15]}'")) == {
        C_JANE
    }


def test_eighteen_character_ids_are_case_insensitive(conn, catalog):
    assert where(conn, catalog, f"Id = '{L_JD.lower()}'") == {L_JD}
    assert where(conn, catalog, f"Id != '{L_JD.upper()}'") == ALL_LIVE - {L_JD}


@pytest.mark.parametrize("value", ["abc", "00Q5e0000000001AA", "00Q5e0000000001AA9", ""])
def test_malformed_id_value(conn, catalog, value):
    exc = error(conn, catalog, f"SELECT Id FROM Lead WHERE Id = '{value}'")
    assert exc.error_code == "INVALID_QUERY_FILTER_OPERATOR"
    assert exc.message.endswith(f"invalid ID field: {value}")


# -- ORDER BY, LIMIT, OFFSET ------------------------------------------------------------------
def test_order_by_defaults_to_ascending_nulls_first(conn, catalog):
    assert ids(conn, catalog, "SELECT Id FROM Lead ORDER BY NumberOfEmployees") == [
        L_NULL,
        L_BACKSLASH,
        L_ESCAPES,
        L_OBRIEN,
        L_JD,
        L_SALE,
    ]


def test_order_by_desc_and_nulls_last(conn, catalog):
    assert ids(conn, catalog, "SELECT Id FROM Lead ORDER BY NumberOfEmployees DESC NULLS LAST") == [
        L_SALE,
        L_JD,
        L_OBRIEN,
        L_NULL,
        L_BACKSLASH,
        L_ESCAPES,
    ]
    assert ids(conn, catalog, "SELECT Id FROM Lead ORDER BY NumberOfEmployees ASC NULLS LAST") == [
        L_OBRIEN,
        L_JD,
        L_SALE,
        L_NULL,
        L_BACKSLASH,
        L_ESCAPES,
    ]
    assert ids(
        conn, catalog, "SELECT Id FROM Lead ORDER BY NumberOfEmployees desc nulls first"
    ) == [L_NULL, L_BACKSLASH, L_ESCAPES, L_SALE, L_JD, L_OBRIEN]


def test_order_by_text_is_case_insensitive_and_takes_several_items(conn, catalog):
    assert ids(conn, catalog, "SELECT Id FROM Lead WHERE Email != null ORDER BY LastName") == [
        L_SALE,
        L_JD,
        L_ESCAPES,
        L_OBRIEN,
        L_BACKSLASH,
    ]
    assert ids(conn, catalog, "SELECT Id FROM Lead ORDER BY IsConverted DESC, Company ASC") == [
        L_NULL,
        L_SALE,
        L_JD,
        L_BACKSLASH,
        L_ESCAPES,
        L_OBRIEN,
    ]


def test_order_by_a_long_text_area_is_invalid(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead ORDER BY Description")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message.endswith("field 'Description' can not be sorted in a query call")


def test_filter_on_a_long_text_area_is_invalid(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE Description = 'x'")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message.endswith("field 'Description' can not be filtered in a query call")


def test_limit_and_offset(conn, catalog):
    ordered = "SELECT Id FROM Lead ORDER BY LastName"
    everything = ids(conn, catalog, ordered)
    assert ids(conn, catalog, ordered + " LIMIT 2") == everything[:2]
    assert ids(conn, catalog, ordered + " LIMIT 2 OFFSET 3") == everything[3:5]
    assert ids(conn, catalog, ordered + " OFFSET 4") == everything[4:]
    assert ids(conn, catalog, ordered + " LIMIT 0") == []
    assert query(conn, catalog, ordered + " LIMIT 2").total_size == 2
    assert ids(conn, catalog, ordered + " OFFSET 2000") == []


def test_offset_above_2000_is_out_of_range(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead OFFSET 2001")
    assert exc.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert exc.message == "Maximum SOQL offset allowed is 2000"


# -- COUNT ------------------------------------------------------------------------------------
def test_count(conn, catalog):
    result = query(conn, catalog, "SELECT COUNT() FROM Lead")
    assert (result.sobject, result.total_size, result.records) == ("Lead", 6, [])
    assert (
        query(conn, catalog, "select count() from lead where Email LIKE '%acme%'").total_size == 1
    )
    assert query(conn, catalog, "SELECT COUNT() FROM Lead LIMIT 4").total_size == 4
    assert query(conn, catalog, "SELECT COUNT() FROM Lead", include_deleted=True).total_size == 7


def test_count_of_a_field_is_one_aggregate_result(conn, catalog):
    result = query(conn, catalog, "SELECT COUNT(Email) FROM Lead")
    assert result.total_size == 1
    assert result.records == [{"attributes": {"type": "AggregateResult"}, "expr0": 5}]
    aliased = query(conn, catalog, "SELECT COUNT(Id) total FROM Lead WHERE IsConverted = false")
    assert aliased.records == [{"attributes": {"type": "AggregateResult"}, "total": 5}]


# -- relationships ----------------------------------------------------------------------------
def test_parent_relationship_fields_are_nested(conn, catalog):
    result = query(
        conn,
        catalog,
        "SELECT Id, account.name, Account.NumberOfEmployees, LastName FROM Contact "
        "ORDER BY LastName",
    )
    base = "/services/data/v59.0/sobjects"
    assert result.records == [
        {
            "attributes": {"type": "Contact", "url": f"{base}/Contact/{C_DANGLING}"},
            "Id": C_DANGLING,
            "Account": None,
            "LastName": "Dangling",
        },
        {
            "attributes": {"type": "Contact", "url": f"{base}/Contact/{C_ORPHAN}"},
            "Id": C_ORPHAN,
            "Account": None,
            "LastName": "Orphan",
        },
        {
            "attributes": {"type": "Contact", "url": f"{base}/Contact/{C_JANE}"},
            "Id": C_JANE,
            "Account": {
                "attributes": {"type": "Account", "url": f"{base}/Account/{ACME}"},
                "Name": "Acme",
                "NumberOfEmployees": 500,
            },
            "LastName": "Smith",
        },
    ]


def test_two_level_relationship(conn, catalog):
    records = query(
        conn,
        catalog,
        f"SELECT Account.Owner.Name, Account.Name FROM Contact WHERE AccountId = '{ACME}'",
    ).records
    account = records[0]["Account"]
    assert account["Owner"] == {
        "attributes": {"type": "User", "url": f"/services/data/v59.0/sobjects/User/{USER}"},
        "Name": "Admin User",
    }
    assert list(account) == ["attributes", "Owner", "Name"]
    owners = query(conn, catalog, "SELECT Name, Owner.Name FROM Account ORDER BY Name").records
    assert [record["Owner"] for record in owners][1] is None


def test_relationship_in_where_and_order_by(conn, catalog):
    assert set(ids(conn, catalog, "SELECT Id FROM Contact WHERE Account.Name = 'ACME'")) == {C_JANE}
    assert set(ids(conn, catalog, "SELECT Id FROM Contact WHERE Account.Name != 'Acme'")) == {
        C_ORPHAN,
        C_DANGLING,
    }
    assert set(ids(conn, catalog, "SELECT Id FROM Contact WHERE Account.Name = null")) == {
        C_ORPHAN,
        C_DANGLING,
    }
    assert ids(
        conn, catalog, "SELECT Id FROM Contact ORDER BY Account.Name DESC NULLS LAST, LastName"
    ) == [C_JANE, C_DANGLING, C_ORPHAN]


def test_lead_converted_contact_path(conn, catalog):
    records = query(
        conn,
        catalog,
        "SELECT Id, ConvertedContact.Email FROM Lead "
        "WHERE IsConverted = true OR Email = 'jd@acme.com' ORDER BY LastName",
    ).records
    assert records[0]["ConvertedContact"] is None
    assert records[1]["ConvertedContact"]["Email"] == "jane@acme.com"
    assert records[1]["ConvertedContact"]["attributes"]["type"] == "Contact"


def test_unknown_relationship(conn, catalog):
    exc = error(conn, catalog, "SELECT Id, Acount.Name FROM Contact")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message == (
        "\nSELECT Id, Acount.Name FROM Contact\n           ^\nERROR at Row:1:Column:12\n"
        "Didn't understand relationship 'Acount' in field path. If you are attempting to use a "
        "custom relationship, be sure to append the '__r' after the custom relationship name. "
        "Please reference your WSDL or the describe call for the appropriate names."
    )


def test_relationship_name_alone_or_unknown_parent_field(conn, catalog):
    exc = error(conn, catalog, "SELECT Account FROM Contact")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message.endswith(NO_SUCH_COLUMN.format(field="Account", entity="Contact"))
    exc = error(conn, catalog, "SELECT Account.Foo FROM Contact")
    assert exc.message.endswith(NO_SUCH_COLUMN.format(field="Foo", entity="Account"))


def test_polymorphic_relationship_is_unsupported(conn, catalog):
    for soql in (
        "SELECT Who.Name FROM Task",
        "SELECT Id FROM Note WHERE Parent.Name = 'x'",
        "SELECT LinkedEntity.Name FROM ContentDocumentLink",
    ):
        assert error(conn, catalog, soql).error_code == "MALFORMED_QUERY"


# -- string escapes and injection ---------------------------------------------------------------
def test_every_escape_sequence(conn, catalog):
    lower = r"'a\nb\rc\td\be\ff\"g\'h\\i\u00e9'"
    upper = r"'a\Nb\Rc\Td\Be\Ff\"g\'h\\i\u00E9'"
    assert where(conn, catalog, f"Title = {lower}") == {L_ESCAPES}
    assert where(conn, catalog, f"Title = {upper}") == {L_ESCAPES}


def test_quote_and_backslash_escapes(conn, catalog):
    assert where(conn, catalog, r"LastName = 'O\'Brien'") == {L_OBRIEN}
    assert where(conn, catalog, r"LastName = 'o\\\'brien'") == {L_BACKSLASH}
    # 'o\\' is a complete literal: what follows is garbage, not part of the string.
    assert error(conn, catalog, r"SELECT Id FROM Lead WHERE LastName = 'o\\'brien'").error_code == (
        "MALFORMED_QUERY"
    )


def test_injection_attempt_is_just_a_string(conn, catalog):
    assert where(conn, catalog, r"Email = 'x\' OR Email != \''") == set()
    assert where(conn, catalog, r"Email IN ('x\' OR Email != \'')") == set()
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE Email = 'x' OR Email != ''' ")
    assert exc.error_code == "MALFORMED_QUERY"


@pytest.mark.parametrize("literal", [r"'a\qb'", r"'a\x41'", r"'\u12'", r"'\a'", r"'a\ b'"])
def test_invalid_escape_is_malformed(conn, catalog, literal):
    exc = error(conn, catalog, f"SELECT Id FROM Lead WHERE LastName = {literal}")
    assert exc.error_code == "MALFORMED_QUERY"
    assert "Illegal character sequence" in exc.message


def test_unterminated_string_is_malformed(conn, catalog):
    assert error(conn, catalog, "SELECT Id FROM Lead WHERE LastName = 'abc").error_code == (
        "MALFORMED_QUERY"
    )
    assert error(conn, catalog, "SELECT Id FROM Lead WHERE LastName = 'abc\\").error_code == (
        "MALFORMED_QUERY"
    )


def test_format_soql_round_trips(conn, catalog):
    nasty = [
        "o'brien@x.com",
        "back\\slash@x.com",
        "x' OR Email != '",
        'q"uote@x.com',
        "tab\t@x.com",
        "JD@ACME.COM",
        "100%_real@x.com",
    ]
    soql = format_soql("SELECT Id FROM Lead WHERE Email IN {} AND IsConverted = {}", nasty, False)
    assert set(ids(conn, catalog, soql)) == {L_OBRIEN, L_BACKSLASH, L_JD}
    like = format_soql("SELECT Id FROM Lead WHERE Company LIKE '{:like}%'", "50% off_")
    assert set(ids(conn, catalog, like)) == {L_NULL}
    single = format_soql("SELECT Id FROM Lead WHERE LastName = {}", "o\\'brien")
    assert set(ids(conn, catalog, single)) == {L_BACKSLASH}
    when = format_soql(
        "SELECT Id FROM Lead WHERE Aimdoc_Last_Conversation__c = {}",
        datetime(2024, 3, 1, 10, tzinfo=UTC),
    )
    assert set(ids(conn, catalog, when)) == {L_JD}


def test_values_are_parameters_never_sql(catalog):
    sql, params = to_sql(
        catalog,
        r"SELECT Id FROM Lead WHERE Email IN ('a\' OR 1=1 --', 'b') "
        r"AND NumberOfEmployees > 5 LIMIT 3",
    )
    assert "OR 1=1" not in sql
    assert "'" not in sql
    assert params == ["a' OR 1=1 --", "b", 5, 3, 0]


# -- limits -----------------------------------------------------------------------------------
def test_string_literal_limit(conn, catalog):
    assert where(conn, catalog, "LastName = '" + "x" * 4000 + "'") == set()
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE LastName = '" + "x" * 4001 + "'")
    assert exc.error_code == "MALFORMED_QUERY"


def test_statement_limit(conn, catalog):
    emails = ", ".join(f"'user{n}@example.com'" for n in range(4000))
    soql = f"SELECT Id FROM Lead WHERE Email IN ({emails})"
    assert len(soql) < 100_000
    assert where(conn, catalog, f"Email IN ({emails})") == set()
    long_soql = f"SELECT Id FROM Lead WHERE Email IN ({emails}, {emails})"
    assert len(long_soql) > 100_000
    exc = error(conn, catalog, long_soql)
    assert exc.error_code == "MALFORMED_QUERY"
    assert "100,000" in exc.message


# -- deleted rows -----------------------------------------------------------------------------
def test_deleted_rows_only_with_include_deleted(conn, catalog):
    assert where(conn, catalog, "Email = 'gone@acme.com'") == set()
    assert where(conn, catalog, "Email = 'gone@acme.com'", include_deleted=True) == {L_GONE}
    deleted = query(
        conn, catalog, "SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", include_deleted=True
    ).records
    assert [(record["Id"], record["IsDeleted"]) for record in deleted] == [(L_GONE, True)]


# -- errors: names and syntax -------------------------------------------------------------------
def test_unknown_field_message(conn, catalog):
    exc = error(conn, catalog, "SELECT Foo FROM Lead")
    assert exc.error_code == "INVALID_FIELD"
    assert exc.message == (
        "\nSELECT Foo FROM Lead\n       ^\nERROR at Row:1:Column:8\n"
        + NO_SUCH_COLUMN.format(field="Foo", entity="Lead")
    )
    assert error(conn, catalog, "SELECT Id FROM lead WHERE Bar__c = 'x'").message.endswith(
        NO_SUCH_COLUMN.format(field="Bar__c", entity="Lead")
    )


def test_unknown_object_message(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Leadz")
    assert exc.error_code == "INVALID_TYPE"
    assert exc.message == (
        "\nSELECT Id FROM Leadz\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'Leadz' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


def test_parse_error_message_shape(conn, catalog):
    exc = error(conn, catalog, "SELECT Id FROM Lead WHERE Email IN ()")
    assert exc.error_code == "MALFORMED_QUERY"
    assert exc.message == (
        "\nSELECT Id FROM Lead WHERE Email IN ()\n" + " " * 36 + "^\n"
        "ERROR at Row:1:Column:37\nunexpected token: ')'"
    )
    eof = error(conn, catalog, "SELECT Id FROM Lead WHERE")
    assert eof.message.endswith("ERROR at Row:1:Column:26\nunexpected token: <EOF>")
    multi = error(conn, catalog, "SELECT Id\nFROM Lead\nWHERE Email = = 'x'")
    assert (
        multi.message == "\nWHERE Email = = 'x'\n              ^\nERROR at Row:3:Column:15\n"
        "unexpected token: '='"
    )


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT LeadSource FROM Lead GROUP BY LeadSource",
        "SELECT COUNT(Id) FROM Lead GROUP BY LeadSource HAVING COUNT(Id) > 1",
        "SELECT Id, (SELECT Id, (SELECT Id FROM Notes) FROM Contacts) FROM Account",
        "SELECT Id, (SELECT COUNT() FROM Contacts) FROM Account",
        "SELECT Id, (SELECT Id FROM Contacts OFFSET 1) FROM Account",
        "SELECT Id, (SELECT Id FROM Contacts FROM Account",
        "SELECT Id FROM Contact WHERE AccountId IN (SELECT Id FROM Account)",
        'SELECT Id FROM Lead WHERE Email = "jd@acme.com"',
        "SELECT Id FROM Lead WHERE Email = 'jd@acme.com' garbage",
        "SELECT Id FROM Lead LIMIT 5 5",
        "SELECT Id FROM Lead ;",
        "SELECT Id FROM Lead WHERE Email IN ()",
        "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
        "SELECT Id FROM Lead FOR UPDATE",
        "SELECT Id FROM Lead WITH SECURITY_ENFORCED",
        "SELECT Id FROM Lead USING SCOPE mine",
        "SELECT MAX(NumberOfEmployees) FROM Lead",
        "SELECT toLabel(Status) FROM Lead",
        "SELECT FIELDS(ALL) FROM Lead LIMIT 200",
        "SELECT Id FROM Lead WHERE CALENDAR_YEAR(CreatedDate) = 2024",
        "SELECT COUNT(), Id FROM Lead",
        "SELECT Id, COUNT() FROM Lead",
        "SELECT l.Id FROM Lead l",
        "SELECT Id FROM Lead WHERE Email NOT LIKE 'a%'",
        "SELECT Id FROM Lead WHERE Email <> 'a'",
        "SELECT Id FROM Lead WHERE Email = :email",
        "SELECT Id FROM Lead WHERE Product_Interest__c INCLUDES ('Platform')",
        "SELECT Id FROM Lead WHERE CreatedDate = THIS_DECADE",
        "SELECT Id FROM Lead WHERE CreatedDate = LAST_N_FORTNIGHTS:2",
        "SELECT Id FROM Lead WHERE CreatedDate = THIS_MONTH:2",
        "SELECT Id FROM Lead WHERE Email IN 'a'",
        "SELECT Id FROM Lead WHERE Email IN ('a',)",
        "SELECT Id FROM Lead ORDER BY",
        "SELECT Id FROM Lead ORDER BY Email NULLS",
        "SELECT Id FROM Lead LIMIT -1",
        "SELECT Id FROM Lead LIMIT 1.5",
        "SELECT Id FROM Lead LIMIT 2147483648",
        "SELECT Id FROM Lead OFFSET 5 LIMIT 1",
        "SELECT FROM Lead",
        "SELECT Id, FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM",
        "SELECT COUNT(Id) FROM Lead ORDER BY Id",
        "UPDATE Lead SET Email = 'x'",
        "",
        "SELECT Id FROM Lead WHERE (Email = 'a'",
        "SELECT Id FROM Lead WHERE Email = 'a')",
        "SELECT Id FROM Lead WHERE Email",
        "SELECT Id FROM Lead WHERE NOT",
        "SELECT Id FROM Lead WHERE Email = 'a' AND",
        "SELECT Account..Name FROM Contact",
        "SELECT Id FROM Lead WHERE Email = 'a' ORDER BY Email LIMIT",
    ],
)
def test_unsupported_or_invalid_syntax_is_malformed(conn, catalog, soql):
    exc = error(conn, catalog, soql)
    assert exc.error_code == "MALFORMED_QUERY", exc.message
    assert "ERROR at Row:" in exc.message


# -- the syntax tree ----------------------------------------------------------------------------
def test_parse_returns_a_tree():
    tree = parse(
        "select Id, Account.Name from Contact where (a = 1 or b = 'x') and not c in "
        "(1, 2) order by Name desc nulls last limit 10 offset 5"
    )
    assert [field.parts for field in tree.fields] == [("Id",), ("Account", "Name")]
    assert tree.sobject == "Contact"
    assert tree.where is not None
    assert (tree.limit, tree.offset) == (10, 5)
    assert tree.order_by[0].descending
    assert tree.order_by[0].nulls_last
    count = parse("SELECT COUNT() FROM Lead")
    assert count.count is not None
    assert count.count.field is None
