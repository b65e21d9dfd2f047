"""JSON schemas of the five streams, built from shared parts.

Enumerated values (contact ``status``, message ``role``) are described, not enforced, so a
new value from Aimdoc reaches the target instead of failing validation.
"""

from __future__ import annotations

from singer_sdk import typing as th

ID = th.StringType
TIMESTAMP = th.DateTimeType

QUALIFICATION_ANSWER = th.ObjectType(
    th.Property("question_id", th.StringType),
    th.Property("question", th.StringType),
    th.Property("answer", th.StringType),
)
DATA_CAPTURE_VALUE = th.AnyOf(th.StringType, th.NumberType, th.BooleanType,
                              th.ArrayType(th.StringType))
UTM = th.ObjectType(th.Property("source", th.StringType), th.Property("medium", th.StringType),
                    th.Property("campaign", th.StringType))
COMPANY = th.ObjectType(th.Property("name", th.StringType), th.Property("domain", th.StringType),
                        th.Property("industry", th.StringType),
                        th.Property("size", th.StringType))
SUMMARY = th.ObjectType(th.Property("status", th.StringType),
                        th.Property("display_name", th.StringType),
                        th.Property("subtitle", th.StringType))

CONTACT = th.PropertiesList(
    th.Property("id", ID, required=True),
    th.Property("email", th.StringType, description="As typed by the visitor; may be absent"),
    th.Property("first_name", th.StringType),
    th.Property("last_name", th.StringType),
    th.Property("company", th.StringType),
    th.Property("phone", th.StringType),
    th.Property("job_title", th.StringType),
    th.Property("website", th.StringType),
    th.Property("attributes", th.ObjectType(additional_properties=True)),
    th.Property("agent_id", ID),
    th.Property("agent_name", th.StringType),
    th.Property("latest_conversation_id", ID),
    th.Property("status", th.StringType, description="new, qualified or disqualified"),
    th.Property("score", th.NumberType, description="0 to 100"),
    th.Property("qualification", th.ArrayType(QUALIFICATION_ANSWER),
                description="Answers to the agent's qualification questions"),
    th.Property("data_capture", th.ObjectType(additional_properties=DATA_CAPTURE_VALUE),
                description="Customer-defined Data Capture fields"),
    th.Property("created_at", TIMESTAMP),
    th.Property("updated_at", TIMESTAMP, required=True),
).to_dict()

CONVERSATION_CONTEXT = (
    th.Property("agent_id", ID),
    th.Property("agent_name", th.StringType),
    th.Property("lead_id", ID),
    th.Property("contact_id", ID),
    th.Property("visitor_id", ID),
    th.Property("status", th.StringType, description="active or ended"),
    th.Property("escalated", th.BooleanType),
    th.Property("escalation_reason", th.StringType),
    th.Property("buyer_intent", th.BooleanType),
    th.Property("buyer_intent_reason", th.StringType),
    th.Property("message_count", th.IntegerType),
    th.Property("page_url", th.StringType),
    th.Property("referrer", th.StringType),
    th.Property("utm", UTM),
    th.Property("session_url", th.StringType, description="Opens the session in Aimdoc"),
    th.Property("created_at", TIMESTAMP),
    th.Property("updated_at", TIMESTAMP, required=True),
    th.Property("last_message_at", TIMESTAMP),
)
CONVERSATION = th.PropertiesList(th.Property("id", ID, required=True),
                                 *CONVERSATION_CONTEXT).to_dict()

MESSAGE_FIELDS = (
    th.Property("id", ID, required=True),
    th.Property("role", th.StringType, description="user, assistant, human or system"),
    th.Property("sender_name", th.StringType),
    th.Property("content", th.StringType, description="Untrusted text typed by visitors"),
    th.Property("created_at", TIMESTAMP, required=True),
)
MESSAGE = th.PropertiesList(*MESSAGE_FIELDS, th.Property("conversation_id", ID)).to_dict()

VISITOR_PROFILE = th.PropertiesList(
    th.Property("visitor_id", ID, required=True),
    th.Property("lead_id", ID),
    th.Property("latest_conversation_id", ID),
    th.Property("summary", SUMMARY),
    th.Property("company", COMPANY),
    th.Property("first_seen_at", TIMESTAMP),
    th.Property("last_seen_at", TIMESTAMP),
    th.Property("updated_at", TIMESTAMP, required=True,
                description="updated_at if Aimdoc sends it, else last_seen_at"),
).to_dict()

TRANSCRIPT = th.PropertiesList(
    th.Property("conversation_id", ID, required=True),
    *CONVERSATION_CONTEXT,
    th.Property("messages", th.ArrayType(th.ObjectType(*MESSAGE_FIELDS)),
                description="Every message of the session, oldest first"),
).to_dict()
