"""Local emulators of the Salesforce REST API and the Aimdoc External API.

Both are served over real HTTP(S) on 127.0.0.1 so that unmodified clients (simple-salesforce,
requests, the tap and the target) talk to them exactly as they would to the real services.
"""
