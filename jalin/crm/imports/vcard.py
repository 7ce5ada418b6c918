"""Contacts as vCards (3.0 by default, 4.0 on request), built with vobject."""

import vobject

VERSIONS = ("3.0", "4.0")


def version_from(value):
    return "4.0" if str(value or "").strip() in ("4", "4.0") else "3.0"


def contact_uid(contact):
    return f"jalin-contact-{contact.organization_id}-{contact.pk}"


def contact_card(contact, *, version="3.0", account_name=None):
    """One contact as a serialized vCard (CRLF lines, folded by vobject)."""
    card = vobject.vCard()
    card.add("version").value = version
    card.add("n").value = vobject.vcard.Name(family=contact.last_name,
                                              given=contact.first_name)
    card.add("fn").value = contact.full_name or contact.last_name
    if account_name is None and contact.account_id:
        account_name = contact.account.name
    if account_name:
        card.add("org").value = [account_name]
    if contact.job_title:
        card.add("title").value = contact.job_title
    emails = [contact.email, *contact.extra_emails] if contact.email else \
        list(contact.extra_emails)
    for index, email in enumerate(item for item in emails if item):
        line = card.add("email")
        line.value = email
        if version == "3.0":
            line.type_paramlist = ["INTERNET", "PREF"] if index == 0 else ["INTERNET"]
        elif index == 0:
            line.params["PREF"] = ["1"]
    phones = [contact.phone, *contact.extra_phones] if contact.phone else \
        list(contact.extra_phones)
    for index, phone in enumerate(item for item in phones if item):
        line = card.add("tel")
        if version == "4.0":
            line.value = f"tel:{phone}"
            line.params["VALUE"] = ["uri"]
            if index == 0:
                line.params["PREF"] = ["1"]
        else:
            line.value = phone
            line.type_paramlist = ["VOICE", "PREF"] if index == 0 else ["VOICE"]
    card.add("uid").value = contact_uid(contact)
    card.add("rev").value = contact.updated_at.strftime("%Y%m%dT%H%M%SZ")
    return card.serialize()


def vcard_filename(contact):
    safe = "".join(ch for ch in contact.full_name if ch.isalnum() or ch in " -_").strip()
    return f"{safe.replace(' ', '-') or 'contact'}.vcf"
