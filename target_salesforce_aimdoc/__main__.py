"""``python -m target_salesforce_aimdoc``."""

from target_salesforce_aimdoc.target import TargetSalesforceAimdoc

TargetSalesforceAimdoc.cli()
