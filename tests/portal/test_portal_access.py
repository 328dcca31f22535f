"""The portal for everyone: our own small accessibility checks on every page (labels, alt texts,
heading order, names of buttons and links, language), phone width, and keyboard-only use.
Screenshots of each page at desktop and phone width are written to var/portal-screenshots/
(not committed)."""
from __future__ import annotations

import pytest
from axe import axe_source

# Run in the page: a list of problems, each a sentence. Not axe-core, but its serious rules that
# matter for this portal: form controls have labels, images alt text, headings do not skip a
# level and start at one h1, buttons and links have names, the document has a language.
A11Y_CHECKS = """() => {
  const problems = [];
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const named = (e) => (e.getAttribute('aria-label') || '').trim() || (e.getAttribute('aria-labelledby') || '').trim();
  for (const c of document.querySelectorAll('input, select, textarea')) {
    if (c.type === 'hidden') continue;
    const label = c.id && document.querySelector(`label[for="${CSS.escape(c.id)}"]`);
    if (!(label && label.textContent.trim()) && !c.closest('label') && !named(c)) problems.push(`control without label: ${c.outerHTML.slice(0, 80)}`);
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push(`image without alt: ${img.src}`);
  for (const b of document.querySelectorAll('button, a[href]')) {
    if (visible(b) && !b.textContent.trim() && !named(b)) problems.push(`nameless ${b.tagName.toLowerCase()}: ${b.outerHTML.slice(0, 80)}`);
  }
  const headings = [...document.querySelectorAll('main h1, main h2, main h3, main h4, main h5, main h6')].filter(visible);
  if (!headings.length || headings[0].tagName !== 'H1') problems.push('the page does not start with an h1');
  if (headings.filter((h) => h.tagName === 'H1').length !== 1) problems.push('not exactly one h1');
  let level = 0;
  for (const h of headings) {
    const next = Number(h.tagName[1]);
    if (next > level + 1) problems.push(`heading level skipped: h${level} to h${next} "${h.textContent.trim()}"`);
    level = next;
  }
  if (!document.documentElement.lang) problems.push('no document language');
  const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dupes.length) problems.push(`duplicate ids: ${[...new Set(dupes)].join(', ')}`);
  if (!document.querySelector('[role=status][aria-live], [role=alert]')) problems.push('no live region for messages');
  return problems;
}"""

PAGES = [("netwerk", "network"), ("afspraken", "agreements"), ("logboek", "logbook"), ("wie-ziet-wat", "sharing")]


@pytest.mark.parametrize("who", ["client", "daughter", "neighbour"])
def test_every_page_passes_the_accessibility_checks_at_desktop_and_phone_width(open_portal, demo, who):
    pid = demo.patient("Hendriks")
    user = {"client": f"Patient/{pid}", "daughter": f"RelatedPerson/{demo.person(pid, 'Marieke')}",
            "neighbour": f"RelatedPerson/{demo.person(pid, 'Kees')}"}[who]
    for width, height, size in ((1280, 900, "desktop"), (375, 740, "phone")):
        portal = open_portal(width, height)
        portal.sign_in_as(demo.token(user, pid), pid)
        for hash_, key in PAGES:
            portal.open(f"#/{hash_}")
            portal.settled(key)
            problems = portal.page.evaluate(A11Y_CHECKS)
            assert problems == [], f"{who} {hash_} {size}: {problems}"
            # At phone width nothing is cut off sideways.
            overflow = portal.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{who} {hash_} {size}: {overflow}px wider than the screen"
            # axe-core in the page: no serious or critical violation (the bar).
            violations = run_axe(portal.page)
            assert violations == [], f"{who} {hash_} {size}: {violations}"
            portal.shot(f"{who}-{hash_}-{size}")


def run_axe(page) -> list[str]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())  # through the DevTools protocol: the page's CSP stays as it is
    results = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                            ".map(v => `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`)")
    return results


def test_the_sign_in_page_passes_the_checks_too(open_portal):
    portal = open_portal(375, 740)
    portal.open("")
    portal.settled("sign-in")
    assert portal.page.evaluate(A11Y_CHECKS) == []
    assert run_axe(portal.page) == []
    portal.shot("sign-in-phone")


def test_a_carer_can_read_and_write_the_logbook_with_the_keyboard_only(open_portal, demo):
    pid = demo.patient("Hendriks")
    marieke = demo.person(pid, "Marieke")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"RelatedPerson/{marieke}", pid), pid)
    page = portal.page
    focused = lambda: page.evaluate("document.activeElement.id || document.activeElement.tagName")  # noqa: E731
    page.keyboard.press("Tab")
    assert focused() == "skip-link"  # the first stop skips the menu
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused() == "nav-logbook":
            break
    assert focused() == "nav-logbook"
    page.keyboard.press("Enter")
    portal.settled("logbook")
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus follows to the new page
    for _ in range(10):
        page.keyboard.press("Tab")
        if focused() == "message":
            break
    assert focused() == "message"
    page.keyboard.type("Met alleen het toetsenbord geschreven.")
    page.keyboard.press("Tab")
    assert focused() == "topic"
    page.keyboard.press("Tab")
    assert focused() == "send"
    page.keyboard.press("Enter")
    page.wait_for_selector("#write-feedback.ok")
    portal.settled("logbook")
    assert "Met alleen het toetsenbord geschreven." in page.locator("#logbook li").nth(0).inner_text()


def test_the_client_can_change_a_switch_and_save_with_the_keyboard_only(open_portal, demo):
    pid = demo.patient("Hendriks")
    kees = demo.person(pid, "Kees")
    portal = open_portal()
    portal.sign_in_as(demo.token(f"Patient/{pid}", pid), pid, hash_="#/wie-ziet-wat")
    page = portal.page
    focused = lambda: page.evaluate("document.activeElement.id")  # noqa: E731
    for _ in range(40):
        page.keyboard.press("Tab")
        if focused() == f"s-{kees}-goals":
            break
    assert focused() == f"s-{kees}-goals"
    page.keyboard.press("Space")
    assert page.locator(f"#s-{kees}-goals").is_checked()
    for _ in range(5):
        page.keyboard.press("Tab")
        if focused() == f"save-{kees}":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#saved-{kees}.ok")
    assert "Doelen" not in page.inner_text(f"#pending-{kees}") or page.locator(f"#pending-{kees}").is_hidden()


def test_the_checks_themselves_catch_what_they_look_for(browser):
    page = browser.new_page()
    try:
        page.set_content("<html><body><main><h2>Geen h1</h2><h4>Sprong</h4><input id='x'><img src='data:,'>"
                         "<button></button></main></body></html>")
        problems = " | ".join(page.evaluate(A11Y_CHECKS))
        axe_found = " | ".join(run_axe(page))
    finally:
        page.close()
    for expected in ("control without label", "image without alt", "nameless button", "does not start with an h1",
                     "heading level skipped", "no document language", "no live region"):
        assert expected in problems, expected
    assert "label" in axe_found and "button-name" in axe_found and "html-has-lang" in axe_found, axe_found
