"""`jalin events`: what operators need to look after event delivery.

    jalin events status                 consumers: cursor, lag, retry state, dead letters
    jalin events dead-letters [--all]   dead letters waiting for a replay (or every one)
    jalin events replay ID [ID ...]     redeliver dead letters to their consumer now
    jalin events reset-cursor NAME POSITION   rebuild from POSITION (or skip ahead)
"""

from django.core.management.base import BaseCommand, CommandError

from jalin.core.events import consumer_reset_cursor, consumer_status_list, dead_letter_replay
from jalin.core.events_models import DeadLetter


class Command(BaseCommand):
    help = "Inspect event consumers and replay dead letters."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="Consumers with cursor, lag and retry state.")
        letters = sub.add_parser("dead-letters", help="List dead letters.")
        letters.add_argument("--all", action="store_true", help="Include replayed ones.")
        letters.add_argument("--limit", type=int, default=50)
        replay = sub.add_parser("replay", help="Redeliver dead letters now.")
        replay.add_argument("ids", nargs="+", type=int)
        reset = sub.add_parser("reset-cursor", help="Move a consumer's cursor.")
        reset.add_argument("name")
        reset.add_argument("position", type=int)

    def handle(self, *, action, **options):
        getattr(self, "handle_" + action.replace("-", "_"))(**options)

    def handle_status(self, **options):
        rows = consumer_status_list()
        if not rows:
            self.stdout.write("No event consumers are registered.")
            return
        self.stdout.write(f"{'consumer':32} {'position':>10} {'lag':>8} {'tries':>5} "
                          f"{'dead':>5}  next retry / last error")
        for row in rows:
            retry = row["next_attempt_at"].isoformat() if row["next_attempt_at"] else ""
            self.stdout.write(
                f"{row['name']:32} {row['position']:>10} {row['lag']:>8} {row['attempts']:>5} "
                f"{row['dead_letters']:>5}  {retry} {row['last_error'][:60]}".rstrip()
            )

    def handle_dead_letters(self, *, all, limit, **options):
        letters = DeadLetter.objects.select_related("event").order_by("-id")
        if not all:
            letters = letters.pending()
        shown = 0
        for letter in letters[:limit]:
            state = f"replayed {letter.replayed_at:%Y-%m-%d %H:%M}" if letter.replayed_at else (
                "waiting"
            )
            self.stdout.write(
                f"#{letter.pk} {letter.consumer} event #{letter.event_id} ({letter.event.type}) "
                f"attempts={letter.attempts} {state}: {letter.error[:100]}"
            )
            shown += 1
        if not shown:
            self.stdout.write("No dead letters.")

    def handle_replay(self, *, ids, **options):
        failed = 0
        for pk in ids:
            letter = DeadLetter.objects.filter(pk=pk).first()
            if letter is None:
                raise CommandError(f"There is no dead letter #{pk}.")
            try:
                succeeded = dead_letter_replay(dead_letter=letter, actor=None)
            except ValueError as exc:
                raise CommandError(f"#{pk}: {exc}") from exc
            if succeeded:
                self.stdout.write(f"#{pk} replayed.")
            else:
                failed += 1
                self.stderr.write(f"#{pk} failed again: {letter.error[:200]}")
        if failed:
            raise CommandError(f"{failed} dead letter(s) failed again; they stay in the list.")

    def handle_reset_cursor(self, *, name, position, **options):
        try:
            state = consumer_reset_cursor(name=name, position=position, actor=None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{state.name} now continues after position {state.position}.")
