// The session warning (WCAG 2.2.1 "Timing Adjustable"): some time before the session ends a
// modal dialog says when, and "Sitzung verlängern" (a request: activity) starts the idle time
// again. The absolute limit cannot be extended: then the dialog says so. The server is asked
// before the dialog opens, so activity in another tab is taken into account; asking is no
// activity. Times are counted from the page's load, never from the browser's clock.
(function () {
  const root = document.getElementById("sitzung");
  const dialog = document.getElementById("sitzung-warnung");
  if (!root || !dialog || typeof dialog.showModal !== "function") return;
  const form = document.getElementById("sitzung-form");
  const title = document.getElementById("sitzung-titel");
  const text = document.getElementById("sitzung-text");
  const extendButton = document.getElementById("sitzung-verlaengern");
  const again = document.getElementById("sitzung-neu");
  const status = document.getElementById("sitzung-status");
  let idleEnd = 0, absoluteEnd = 0, warnBefore = 0, timer = 0;

  function plan(seconds) {
    const now = Date.now();
    idleEnd = now + seconds.idle * 1000;
    absoluteEnd = now + seconds.absolute * 1000;
    warnBefore = seconds.warn * 1000;
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(0, Math.min(idleEnd, absoluteEnd) - warnBefore - now));
  }

  function fromServer(data) {
    return { idle: data.idle_left, absolute: data.absolute_left, warn: data.warn_before };
  }

  function clock(moment) {
    return new Date(moment).toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit" });
  }

  function left(ms) {
    const minutes = Math.round(ms / 60000);
    if (minutes >= 2) return "in etwa " + minutes + " Minuten";
    if (minutes === 1) return "in etwa einer Minute";
    return "in weniger als einer Minute";
  }

  async function ask() {
    const response = await fetch(root.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    return response.json();
  }

  function ended() {
    clearTimeout(timer);
    title.textContent = "Sie wurden abgemeldet";
    text.textContent =
      "Ihre Sitzung ist abgelaufen. Gespeicherte Antragsentwürfe sind erhalten; melden Sie sich erneut an, um weiterzumachen.";
    extendButton.hidden = true;
    again.hidden = false;
    if (!dialog.open) dialog.showModal();
    again.focus();
  }

  function warn() {
    const end = Math.min(idleEnd, absoluteEnd);
    const extendable = idleEnd < absoluteEnd;
    title.textContent = "Ihre Sitzung läuft bald ab";
    if (extendable) {
      text.textContent =
        "Sie waren eine Weile nicht aktiv. Ohne eine Aktion werden Sie um " + clock(end) +
        " Uhr (" + left(end - Date.now()) + ") abgemeldet. Mit „Sitzung verlängern“ bleiben Sie angemeldet.";
    } else {
      text.textContent =
        "Ihre Sitzung endet um " + clock(end) + " Uhr (" + left(end - Date.now()) + "). Sie hat dann die " +
        "längste erlaubte Dauer für Ihre Anmeldung erreicht und kann nicht verlängert werden. Bitte " +
        "speichern Sie Ihre Eingaben und melden Sie sich danach erneut an.";
    }
    extendButton.hidden = !extendable;
    again.hidden = true;
    if (!dialog.open) dialog.showModal();
    (extendable ? extendButton : document.getElementById("sitzung-schliessen")).focus();
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(0, end - Date.now()) + 500);
  }

  async function check() {
    let data;
    try {
      data = await ask();
    } catch (error) {
      warn(); // the server cannot be asked: warn with what the page knows
      return;
    }
    if (!data.angemeldet) return ended();
    plan(fromServer(data));
    const end = Math.min(idleEnd, absoluteEnd);
    if (end - Date.now() > warnBefore + 1000) {
      if (dialog.open) dialog.close(); // activity elsewhere moved the end
      return;
    }
    warn();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    let data;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      data = await response.json();
    } catch (error) {
      form.submit(); // without an answer, the plain form does it
      return;
    }
    if (!data.angemeldet) return ended();
    plan(fromServer(data));
    dialog.close();
    status.textContent =
      "Ihre Sitzung wurde verlängert. Ohne Aktion endet sie um " + clock(Math.min(idleEnd, absoluteEnd)) + " Uhr.";
  });

  document.getElementById("sitzung-schliessen").addEventListener("click", function () {
    dialog.close();
  });

  plan({
    idle: Number(root.dataset.idleLeft),
    absolute: Number(root.dataset.absoluteLeft),
    warn: Number(root.dataset.warnBefore),
  });
})();
