// A form page refreshed by htmx (a value others depend on changed) must not lose what the
// person typed while the refresh was on its way: those fields get their values back.
(function () {
  let typed = null;
  document.addEventListener("htmx:beforeRequest", function () {
    typed = new Map();
  });
  document.addEventListener("input", function (event) {
    const field = event.target;
    if (typed && field.id && "value" in field && field.type !== "file") {
      typed.set(field.id, field.type === "checkbox" ? field.checked : field.value);
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!typed) return;
    typed.forEach(function (value, id) {
      const field = document.getElementById(id);
      if (!field) return;
      if (field.type === "checkbox") field.checked = value;
      else field.value = value;
    });
    typed = null;
  });
})();
