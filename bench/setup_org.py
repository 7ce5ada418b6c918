"""Create the benchmark organization and its people (idempotent).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jalin_bench \\
        .venv/bin/python bench/setup_org.py --org bench --members 8 --password bench-password-1

The owner signs in as `<org>-owner`; members `<org>-sales-1..N` own the generated records.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--org", default="bench")
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--password", default="bench-password-1")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from jalin.tenancy.models import Membership, Organization
    from jalin.tenancy.roles import Role

    user_model = get_user_model()
    organization, _ = Organization.objects.get_or_create(
        slug=args.org, defaults={"name": f"{args.org.title()} Supplies", "is_supplier": True})
    people = [(f"{args.org}-owner", Role.ORG_ADMIN)] + [
        (f"{args.org}-sales-{n}", Role.SALES) for n in range(1, args.members + 1)]
    for username, role in people:
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(username=username, password=args.password,
                                                  email=f"{username}@example.com")
        Membership.objects.get_or_create(user=user, organization=organization,
                                         defaults={"role": role})
    print(f"Organization {organization.slug} (id {organization.pk}), "
          f"{len(people)} people; sign in as {args.org}-owner")


if __name__ == "__main__":
    main()
