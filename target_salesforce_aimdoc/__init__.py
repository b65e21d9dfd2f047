"""target-salesforce-aimdoc: a Singer target that keeps Salesforce in step with Aimdoc's leads."""
