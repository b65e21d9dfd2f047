"""``aimdoc-emulator``: serve the Aimdoc External API emulator until interrupted."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from aimdoc_emulators.aimdoc.emulator import AimdocEmulator
from aimdoc_emulators.aimdoc.readings import CAPTURED, CONVERSATION_KEYS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="aimdoc-emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--free-mail-share", type=float, default=0.2)
    parser.add_argument("--date-filter", choices=("created_at", "updated_at"),
                        default="created_at", help="the timestamp start_date/end_date filter on")
    parser.add_argument("--unsorted", action="store_true", help="list in a stable id order")
    parser.add_argument("--envelope", choices=("object", "data_only", "array"), default="object")
    parser.add_argument("--no-updated-at", action="store_true",
                        help="contacts and conversations carry no updated_at")
    parser.add_argument("--conversation-key", choices=CONVERSATION_KEYS, default="both",
                        help="how conversations name their contact")
    parser.add_argument("--ignore-conversation-filter", action="store_true",
                        help="/messages ignores conversation_id")
    parser.add_argument("--captured", choices=CAPTURED, default="fields",
                        help="a contact's status, score, qualification and Data Capture "
                             "fields in their own fields or in attributes")
    parser.add_argument("--webhook-url", action="append", default=[], metavar="URL",
                        help="POST webhook events here as the clock advances (repeatable)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a throwaway CA")
    parser.add_argument("--tls-dir", type=Path, help="where to write the CA file")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the emulator from the options, print where it listens, serve."""
    args = parse_args(argv)
    settings = {"date_filter": args.date_filter, "sorted": not args.unsorted,
                "envelope": args.envelope, "updated_at": not args.no_updated_at,
                "conversation_key": args.conversation_key,
                "messages_conversation_filter": not args.ignore_conversation_filter,
                "captured": args.captured}
    gc.disable()  # the data set lives as long as the process: the collector need not see it
    emulator = AimdocEmulator(args.seed, args.contacts, host=args.host, port=args.port,
                              tls=args.tls, tls_dir=args.tls_dir, settings=settings,
                              verbose=args.verbose, free_mail_share=args.free_mail_share)
    for url in args.webhook_url:
        emulator.backend.webhooks.subscribe(url, baseline=True)
    emulator.backend.prepare()
    gc.freeze()
    gc.enable()
    emulator.bind()
    print(f"Aimdoc emulator listening on {emulator.url}", flush=True)
    print(f"  api_url  {emulator.api_url}", flush=True)
    print(f"  api_key  {emulator.api_key}", flush=True)
    print(f"  admin    {emulator.admin_url}/stats", flush=True)
    if emulator.ca_file:
        print(f"  ca_file  {emulator.ca_file}", flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
