// Live updates for the Address Book: progressive enhancement. Pages work without it; with it, a
// page marked data-live (the list, a person) listens to /events and, when someone changes what
// it shows, fetches the page again and swaps that part in, saying so in the polite status region.
(() => {
  const region = document.querySelector('[data-live]');
  const status = document.getElementById('live-status');
  if (region === null || status === null || !('EventSource' in window)) return;
  const watch = region.getAttribute('data-live');
  const selector = `[data-live="${CSS.escape(watch)}"]`;
  const verbs = {
    insert: 'added',
    update: 'edited',
    delete: 'deleted',
    restore: 'restored',
    forget: 'asked to forget',
  };
  let queue = Promise.resolve();

  const events = new EventSource('/events');
  // Listening: every change committed from here on will reach this page.
  events.addEventListener('ready', () => status.setAttribute('data-ready', ''));
  events.addEventListener('change', (e) => {
    const set = JSON.parse(e.data);
    const mine = watch === 'list' ? set.changes : set.changes.filter((c) => c.id === watch);
    if (mine.length === 0) return;
    queue = queue
      .then(() => refresh(set, mine))
      .catch(() => {
        status.textContent = 'Someone changed this page; reload to see it.';
      });
  });

  async function refresh(set, mine) {
    const url = new URL(window.location.href);
    url.searchParams.delete('notice');
    const res = await fetch(url, { headers: { accept: 'text/html' }, credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const fresh = new DOMParser().parseFromString(await res.text(), 'text/html');
    const next = fresh.querySelector(selector);
    const current = document.querySelector(selector);
    const who = set.actor ?? 'someone';
    const last = mine[mine.length - 1];
    const what =
      watch === 'list'
        ? `${who} ${verbs[last.op] ?? 'changed'} ${mine.length === 1 ? 'a person' : `${mine.length} people`} just now`
        : `Changed by ${who} just now (${verbs[last.op] ?? 'changed'}, version ${last.version})`;
    // Never pull the page from under the keyboard: where focus is inside, only say so.
    if (next === null || current === null || current.contains(document.activeElement)) {
      status.textContent = `${what}. Reload the page to see it.`;
      return;
    }
    current.replaceWith(next);
    document.title = fresh.title;
    status.textContent = `${what}.`;
  }
})();
