"""``python -m tap_aimdoc`` runs the tap's command line."""

from tap_aimdoc.tap import TapAimdoc

TapAimdoc.cli()
