"""Emulator of the Aimdoc External API: a seeded data set served over real HTTP.

``AimdocEmulator`` (emulator.py) is the Python API; ``aimdoc-emulator`` (cli.py) the command
line; ``generate_dataset`` (generator.py) the data without HTTP; fixtures.py the pytest fixtures.
"""
