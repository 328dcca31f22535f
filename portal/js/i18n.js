// Dutch by default, English selectable; the choice is kept in localStorage.

const STRINGS = {
  nl: {
    title: "Samenzorg familieportaal",
    skip: "Naar de inhoud", menu: "Hoofdmenu", language: "Taal", signOut: "Afmelden",
    navNetwork: "Netwerk", navAgreements: "Afspraken", navLogbook: "Logboek", navSharing: "Wie ziet wat",
    loading: "Bezig met laden…", loaded: "{page} geladen.",
    signInTitle: "Aanmelden",
    signInIntro: "Met het familieportaal ziet u het zorgnetwerk, de afspraken en het logboek van degene voor wie u zorgt, voor zover die persoon dat met u deelt.",
    signInButton: "Aanmelden bij Samenzorg",
    signedOut: "U bent afgemeld.",
    expired: "Uw sessie is verlopen. Meld u opnieuw aan; wat u had getypt, is bewaard.",
    serverDown: "De server van Samenzorg is nu niet bereikbaar. Uw gegevens zijn niet verloren; probeer het over een paar minuten opnieuw.",
    retry: "Opnieuw proberen",
    loginUnavailable: "Aanmelden is op deze server nog niet ingericht. Vraag de beheerder om de aanmelding (SMART) aan te zetten.",
    loginFailed: "Het aanmelden is niet gelukt ({reason}). Probeer het opnieuw.",
    unexpected: "Er ging iets mis: {message}",
    forClient: "Zorgnetwerk van {name}",
    youAre: "U bent aangemeld als {name}.",
    someone: "iemand", theClient: "De cliënt",
    // network
    networkTitle: "Netwerk", networkIntro: "Wie er in het netwerk zijn, wat hun rol is en hoe u hen bereikt.",
    networkNotShared: "{client} deelt het netwerk (wie er helpt en hun contactgegevens) niet met u.",
    networkEmpty: "Er is nog geen netwerk vastgelegd.",
    firstContact: "Eerste contactpersoon", reach: "Bereikbaar", phone: "Telefoon", email: "E-mail", available: "Wanneer",
    noContact: "Geen contactgegevens bekend.",
    roleFamily: "familie", roleNeighbour: "buur", roleFriend: "vriend(in)", roleVolunteer: "vrijwilliger",
    roleMantelzorger: "mantelzorger", roleMentor: "mentor", roleCurator: "curator", roleGuardian: "voogd",
    roleRepresentative: "wettelijk vertegenwoordiger", roleAuthorised: "schriftelijk gemachtigde",
    roleCoordinator: "coördinator", roleNurse: "wijkverpleegkundige", roleGp: "huisarts", roleCaseManager: "casemanager",
    roleProfessional: "zorgverlener", roleClient: "cliënt", roleInformal: "naaste",
    // agreements
    agreementsTitle: "Afspraken", agreementsIntro: "Wie doet wat, wanneer en hoe.",
    myWeek: "Mijn taken deze week", myWeekNone: "U heeft deze week geen taken.",
    allAgreements: "Alle afspraken die u mag zien", agreementsNone: "Er zijn geen afspraken die met u gedeeld worden.",
    who: "Wie", when: "Wanneer", how: "Hoe", whoHidden: "iemand die u niet kunt zien",
    everyDay: "elke dag", everyWeek: "elke week", everyMonth: "elke maand", everyNDays: "elke {n} dagen",
    everyNWeeks: "elke {n} weken", on: "op {days}", at: "om {times}", minutes: "{n} minuten", hours: "{n} uur",
    thisMonth: "deze maand",
    days: ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    // logbook
    logbookTitle: "Logboek", logbookIntro: "Berichten van het netwerk, nieuwste eerst.",
    logbookNotShared: "{client} deelt het logboek niet met u. U ziet daarom geen berichten.",
    logbookEmpty: "Er staan nog geen berichten in het logboek.",
    older: "Oudere berichten laden", writeTitle: "Bericht schrijven", messageLabel: "Uw bericht",
    topicLabel: "Onderwerp", send: "Plaatsen", sent: "Uw bericht is geplaatst.",
    cannotWrite: "{client} heeft niet afgesproken dat u in het logboek schrijft. U kunt wel bellen met de eerste contactpersoon of de wijkverpleging.",
    writeRefused: "Uw bericht is niet geplaatst: {client} staat niet toe dat u in het logboek schrijft. Uw tekst is bewaard.",
    emptyMessage: "Schrijf eerst een bericht.", by: "door {name}",
    topics: { observation: "Observatie", wellbeing: "Welbevinden", meals: "Eten en drinken", medication: "Medicatie",
      appointment: "Afspraak", incident: "Incident", handover: "Overdracht", other: "Overig" },
    // sharing
    sharingTitle: "Wie ziet wat",
    sharingIntro: "U bepaalt per persoon wat die van uw zorg mag zien. Een wijziging geldt direct na opslaan.",
    sharingNotYours: "Alleen de cliënt en de wettelijk vertegenwoordiger kunnen bepalen wie wat ziet.",
    kinds: { "care-team": "Netwerk en contactgegevens", agreements: "Alle afspraken", "own-agreements": "Eigen afspraken",
      goals: "Doelen", logbook: "Logboek lezen", "contribute-logbook": "In het logboek schrijven" },
    peopleTitle: "Per persoon", save: "Opslaan", saved: "Opgeslagen. {name} ziet vanaf nu wat hierboven staat.",
    conflict: "Iemand anders heeft dit net gewijzigd. De pagina toont nu de nieuwste keuzes; kijk ze na en sla opnieuw op.",
    viewAs: "Bekijk als {name}", viewAsTitle: "Wat {name} nu ziet",
    viewAsAfter: "Wat {name} ziet na opslaan",
    seesNothing: "{name} ziet niets van uw zorg.",
    unsaved: "Nog niet opgeslagen.",
    willLose: "ziet dan niet meer: {what}", willGain: "ziet dan ook: {what}",
    representativeSeesAll: "{name} is wettelijk vertegenwoordiger en ziet alles.",
    complexConsent: "De toestemming voor {name} is op een andere manier vastgelegd en kan hier niet worden gewijzigd.",
    countOf: { CarePlan: "{n} afspraken", Communication: "{n} logboekberichten", CareTeam: "het netwerk",
      Goal: "{n} doelen", Patient: "uw gegevens", RelatedPerson: "{n} naasten", Practitioner: "{n} zorgverleners",
      PractitionerRole: "rollen van zorgverleners", Organization: "{n} organisaties", Consent: "toestemmingen",
      AuditEvent: "inzagegegevens", Provenance: "herkomstgegevens" },
    countOne: { CarePlan: "1 afspraak", Communication: "1 logboekbericht", Goal: "1 doel", RelatedPerson: "1 naaste",
      Practitioner: "1 zorgverlener", Organization: "1 organisatie" },
    whoLookedTitle: "Wie heeft gekeken", whoLookedIntro: "Wie uw gegevens bekeek of wijzigde, nieuwste eerst.",
    whoLookedNone: "Nog niemand heeft gekeken.", moreLooks: "Meer laden",
    looked: "{who} {did} {what}", refused: "(geweigerd)",
    did: { read: "bekeek", vread: "bekeek", search: "zocht in", "search-type": "zocht in", "search-system": "zocht in",
      "history-instance": "bekeek de geschiedenis van", "history-type": "bekeek de geschiedenis van",
      create: "schreef", update: "wijzigde", patch: "wijzigde", delete: "verwijderde", operation: "bekeek", other: "opende" },
    what: { CarePlan: "afspraken", Communication: "het logboek", CareTeam: "het netwerk", Goal: "doelen",
      Patient: "uw gegevens", RelatedPerson: "gegevens van naasten", Practitioner: "gegevens van zorgverleners",
      PractitionerRole: "gegevens van zorgverleners", Organization: "organisaties", Consent: "uw toestemmingen",
      AuditEvent: "wie heeft gekeken", Provenance: "herkomstgegevens", other: "uw dossier" },
    you: "U",
  },
  en: {
    title: "Samenzorg family portal",
    skip: "Skip to content", menu: "Main menu", language: "Language", signOut: "Sign out",
    navNetwork: "Network", navAgreements: "Agreements", navLogbook: "Logbook", navSharing: "Who sees what",
    loading: "Loading…", loaded: "{page} loaded.",
    signInTitle: "Sign in",
    signInIntro: "The family portal shows the care network, the agreements and the logbook of the person you care for, as far as they share them with you.",
    signInButton: "Sign in to Samenzorg",
    signedOut: "You have signed out.",
    expired: "Your session has expired. Please sign in again; what you had typed has been kept.",
    serverDown: "The Samenzorg server cannot be reached right now. Nothing is lost; please try again in a few minutes.",
    retry: "Try again",
    loginUnavailable: "Signing in is not set up on this server yet. Ask the administrator to enable sign-in (SMART).",
    loginFailed: "Signing in did not work ({reason}). Please try again.",
    unexpected: "Something went wrong: {message}",
    forClient: "Care network of {name}",
    youAre: "You are signed in as {name}.",
    someone: "someone", theClient: "The client",
    networkTitle: "Network", networkIntro: "Who is in the network, their role and how to reach them.",
    networkNotShared: "{client} does not share the network (who helps and how to reach them) with you.",
    networkEmpty: "No network has been recorded yet.",
    firstContact: "First contact person", reach: "How to reach", phone: "Phone", email: "Email", available: "When",
    noContact: "No contact details known.",
    roleFamily: "family", roleNeighbour: "neighbour", roleFriend: "friend", roleVolunteer: "volunteer",
    roleMantelzorger: "family carer", roleMentor: "mentor", roleCurator: "curator", roleGuardian: "guardian",
    roleRepresentative: "legal representative", roleAuthorised: "authorised in writing",
    roleCoordinator: "coordinator", roleNurse: "district nurse", roleGp: "GP", roleCaseManager: "case manager",
    roleProfessional: "care professional", roleClient: "client", roleInformal: "relative or friend",
    agreementsTitle: "Agreements", agreementsIntro: "Who does what, when and how.",
    myWeek: "My tasks this week", myWeekNone: "You have no tasks this week.",
    allAgreements: "All agreements you may see", agreementsNone: "No agreements are shared with you.",
    who: "Who", when: "When", how: "How", whoHidden: "someone you cannot see",
    everyDay: "every day", everyWeek: "every week", everyMonth: "every month", everyNDays: "every {n} days",
    everyNWeeks: "every {n} weeks", on: "on {days}", at: "at {times}", minutes: "{n} minutes", hours: "{n} hours",
    thisMonth: "this month",
    days: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    logbookTitle: "Logbook", logbookIntro: "Messages from the network, newest first.",
    logbookNotShared: "{client} does not share the logbook with you, so you see no messages.",
    logbookEmpty: "The logbook has no messages yet.",
    older: "Load older messages", writeTitle: "Write a message", messageLabel: "Your message",
    topicLabel: "Topic", send: "Post", sent: "Your message has been posted.",
    cannotWrite: "{client} has not agreed that you write in the logbook. You can still call the first contact person or the district nurses.",
    writeRefused: "Your message was not posted: {client} does not allow you to write in the logbook. Your text has been kept.",
    emptyMessage: "Please write a message first.", by: "by {name}",
    topics: { observation: "Observation", wellbeing: "Wellbeing", meals: "Food and drink", medication: "Medication",
      appointment: "Appointment", incident: "Incident", handover: "Handover", other: "Other" },
    sharingTitle: "Who sees what",
    sharingIntro: "You decide per person what they may see of your care. A change applies as soon as it is saved.",
    sharingNotYours: "Only the client and their legal representative can decide who sees what.",
    kinds: { "care-team": "Network and contact details", agreements: "All agreements", "own-agreements": "Own agreements",
      goals: "Goals", logbook: "Read the logbook", "contribute-logbook": "Write in the logbook" },
    peopleTitle: "Per person", save: "Save", saved: "Saved. From now on {name} sees what is set above.",
    conflict: "Someone else has just changed this. The page now shows the latest choices; check them and save again.",
    viewAs: "View as {name}", viewAsTitle: "What {name} sees now",
    viewAsAfter: "What {name} sees after saving",
    seesNothing: "{name} sees nothing of your care.",
    unsaved: "Not saved yet.",
    willLose: "will no longer see: {what}", willGain: "will also see: {what}",
    representativeSeesAll: "{name} is a legal representative and sees everything.",
    complexConsent: "The consent for {name} was recorded in another way and cannot be changed here.",
    countOf: { CarePlan: "{n} agreements", Communication: "{n} logbook messages", CareTeam: "the network",
      Goal: "{n} goals", Patient: "your details", RelatedPerson: "{n} relatives and friends", Practitioner: "{n} care professionals",
      PractitionerRole: "care professionals' roles", Organization: "{n} organisations", Consent: "consents",
      AuditEvent: "access records", Provenance: "provenance records" },
    countOne: { CarePlan: "1 agreement", Communication: "1 logbook message", Goal: "1 goal",
      RelatedPerson: "1 relative or friend", Practitioner: "1 care professional", Organization: "1 organisation" },
    whoLookedTitle: "Who has looked", whoLookedIntro: "Who viewed or changed your records, newest first.",
    whoLookedNone: "Nobody has looked yet.", moreLooks: "Load more",
    looked: "{who} {did} {what}", refused: "(refused)",
    did: { read: "viewed", vread: "viewed", search: "searched", "search-type": "searched", "search-system": "searched",
      "history-instance": "viewed the history of", "history-type": "viewed the history of",
      create: "wrote", update: "changed", patch: "changed", delete: "deleted", operation: "viewed", other: "opened" },
    what: { CarePlan: "agreements", Communication: "the logbook", CareTeam: "the network", Goal: "goals",
      Patient: "your details", RelatedPerson: "details of relatives", Practitioner: "details of professionals",
      PractitionerRole: "details of professionals", Organization: "organisations", Consent: "your consents",
      AuditEvent: "who has looked", Provenance: "provenance", other: "your record" },
    you: "You",
  },
};

const LANG_KEY = "samenzorg.lang";
let lang = (() => {
  try {
    return STRINGS[localStorage.getItem(LANG_KEY)] ? localStorage.getItem(LANG_KEY) : "nl";
  } catch {
    return "nl";
  }
})();

export function language() {
  return lang;
}

export function setLanguage(value) {
  lang = STRINGS[value] ? value : "nl";
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch { /* private mode: the choice lasts this page */ }
  document.documentElement.lang = lang;
}

/** t("key") or t("group.key"), with {placeholders} filled from vars. */
export function t(key, vars = {}) {
  let value = key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), STRINGS[lang]);
  if (value === undefined) value = key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), STRINGS.nl);
  if (typeof value !== "string") return value === undefined ? key : value;
  return value.replace(/\{(\w+)\}/g, (_, name) => (vars[name] === undefined ? `{${name}}` : String(vars[name])));
}

export function locale() {
  return lang === "en" ? "en-GB" : "nl-NL";
}
