"""The sign-in and consent pages' words: Dutch by default, English selectable (?lang=en)."""
from __future__ import annotations

from ..scopes import parse_scopes

LANGUAGES = ("nl", "en")

TEXT = {
    "nl": {
        "title_login": "Inloggen bij Samenzorg", "username": "Gebruikersnaam", "password": "Wachtwoord",
        "sign_in": "Inloggen", "bad_login": "Onjuiste gebruikersnaam of wachtwoord.",
        "throttled": "Te veel mislukte pogingen. Probeer het over een kwartier opnieuw.",
        "title_consent": "Toestemming geven", "asks": "vraagt toegang tot uw gegevens in Samenzorg.",
        "it_may": "De app mag dan:", "for_whom": "Voor wie?", "for_client": "Voor",
        "approve": "Toestaan", "deny": "Weigeren", "remembered": "U heeft deze app eerder toestemming gegeven.",
        "pick": "Kies voor wie u deze app gebruikt.", "consent_note":
        "Wat u ziet blijft beperkt tot wat de cliënt met u deelt. U kunt deze toestemming altijd intrekken.",
        "title_error": "Dat lukt niet", "no_identity": "Uw account is nog niet gekoppeld aan een zorgnetwerk.",
        "bad_csrf": "Het formulier is verlopen. Ga terug en probeer het opnieuw.",
        "title_apps": "Apps met toegang", "no_apps": "Geen enkele app heeft toegang.", "revoke": "Intrekken",
        "since": "sinds", "logout": "Uitloggen", "language": "English", "session_gone":
        "Uw sessie is verlopen. Start de app opnieuw.",
    },
    "en": {
        "title_login": "Sign in to Samenzorg", "username": "Username", "password": "Password",
        "sign_in": "Sign in", "bad_login": "Wrong username or password.",
        "throttled": "Too many failed attempts. Try again in fifteen minutes.",
        "title_consent": "Give permission", "asks": "asks for access to your data in Samenzorg.",
        "it_may": "The app may then:", "for_whom": "For whom?", "for_client": "For",
        "approve": "Allow", "deny": "Deny", "remembered": "You approved this app before.",
        "pick": "Choose whom you use this app for.", "consent_note":
        "You still see only what the client shares with you. You can withdraw this permission at any time.",
        "title_error": "That did not work", "no_identity": "Your account is not linked to a care network yet.",
        "bad_csrf": "The form has expired. Go back and try again.",
        "title_apps": "Apps with access", "no_apps": "No app has access.", "revoke": "Withdraw",
        "since": "since", "logout": "Sign out", "language": "Nederlands", "session_gone":
        "Your session has expired. Start the app again.",
    },
}

_SPECIAL = {
    "openid": ("bevestigen wie u bent", "confirm who you are"),
    "fhirUser": ("weten wie u bent in het zorgnetwerk", "know who you are in the care network"),
    "profile": ("uw naam zien", "see your name"),
    "launch/patient": ("weten voor welke cliënt u dit doet", "know which client you act for"),
    "offline_access": ("toegang houden als u niet ingelogd bent, tot u dit intrekt",
                       "keep access while you are signed out, until you withdraw it"),
}
_TYPES = {
    "*": ("alle gegevens die u mag zien", "all data you may see"),
    "CarePlan": ("zorgafspraken", "care plans"), "CareTeam": ("het zorgteam", "the care team"),
    "Communication": ("berichten in het logboek", "logbook messages"), "Consent": ("toestemmingen", "consents"),
    "Goal": ("doelen", "goals"), "Patient": ("gegevens van de cliënt", "the client's details"),
    "RelatedPerson": ("naasten", "relatives and carers"), "Practitioner": ("zorgverleners", "professionals"),
    "PractitionerRole": ("rollen van zorgverleners", "professionals' roles"),
    "Organization": ("organisaties", "organisations"), "AuditEvent": ("wie wat heeft ingezien", "who saw what"),
    "Provenance": ("herkomst van gegevens", "where data came from"),
}
_VERBS = {"r": ("lezen", "read"), "s": ("zoeken", "search"), "c": ("toevoegen", "add"),
          "u": ("wijzigen", "change"), "d": ("verwijderen", "delete")}


def describe_scope(token: str, lang: str) -> str:
    i = LANGUAGES.index(lang)
    if token in _SPECIAL:
        text = _SPECIAL[token][i]
        return text[0].upper() + text[1:]
    parsed = parse_scopes(token)
    if len(parsed) != 1:
        return token
    s = parsed[0]
    verbs = [_VERBS[p][i] for p in "rscud" if p in s.permissions]
    joiner = " en " if lang == "nl" else " and "
    what = _TYPES.get(s.resource_type, (s.resource_type, s.resource_type))[i]
    sentence = f"{what}: {', '.join(verbs[:-1]) + joiner + verbs[-1] if len(verbs) > 1 else verbs[0]}"
    return sentence[0].upper() + sentence[1:]
