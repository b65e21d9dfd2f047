"""TargetSalesforceAimdoc: config schema, one sink per stream, the run's report at the end."""

from __future__ import annotations

from singer_sdk import Target
from singer_sdk import typing as th

from target_salesforce_aimdoc.sinks import SalesforceSink

AUTH_SETTINGS = th.PropertiesList(
    th.Property(
        "auth_flow",
        th.StringType(allowed_values=[
            "client_credentials", "jwt", "refresh_token", "session", "password", "soap",
        ]),
        description=(
            "How to log in. Inferred from the credentials given when omitted: client_credentials "
            "(client_id + client_secret), jwt (client_id + username + private key), refresh_token, "
            "session (session_id + instance_url), password (legacy username-password OAuth) or "
            "soap (username + password + security token; legacy)."
        ),
    ),
    th.Property(
        "login_url", th.StringType, default="https://login.salesforce.com",
        description=(
            "Where logins go: https://login.salesforce.com, https://test.salesforce.com "
            "(sandbox), your My Domain URL (required for client credentials), or the emulator."
        ),
    ),
    th.Property("instance_url", th.StringType,
                description="The org's instance URL; taken from the login response when omitted."),
    th.Property("api_version", th.StringType, default="59.0",
                description="Salesforce REST API version."),
    th.Property("client_id", th.StringType, description="Consumer key of the External Client App."),
    th.Property("client_secret", th.StringType, secret=True,
                description="Consumer secret of the External Client App."),
    th.Property("username", th.StringType,
                description="Salesforce username (JWT, password, soap)."),
    th.Property("password", th.StringType, secret=True, description="Password (legacy flows)."),
    th.Property("security_token", th.StringType, secret=True,
                description="Security token appended to the password (legacy flows)."),
    th.Property("private_key", th.StringType, secret=True,
                description="PEM private key for the JWT bearer flow (inline)."),
    th.Property("private_key_file", th.StringType,
                description="Path of the PEM private key for the JWT bearer flow."),
    th.Property("refresh_token", th.StringType, secret=True,
                description="OAuth refresh token (refresh_token flow)."),
    th.Property("session_id", th.StringType, secret=True,
                description="An existing session id (session flow; with instance_url)."),
    th.Property("ca_file", th.StringType,
                description="A CA bundle to trust (a corporate proxy, or the local emulator)."),
)


class TargetSalesforceAimdoc(Target):
    """Upserts Accounts, Contacts and Leads (and transcript notes) into Salesforce."""

    name = "target-salesforce-aimdoc"
    package_name = "aimdoc-salesforce-sync"
    config_jsonschema = AUTH_SETTINGS.to_dict()
    default_sink_class = SalesforceSink


if __name__ == "__main__":
    TargetSalesforceAimdoc.cli()
