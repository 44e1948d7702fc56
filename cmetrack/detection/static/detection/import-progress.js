// Background import: poll the run's progress and move the bar; reload when it has finished
// (the page then shows the outcome). Without JavaScript the page has a refresh link.
const box = document.querySelector("[data-import-progress]");
if (box) {
  const bar = box.querySelector("[data-progress-bar]");
  const status = box.querySelector("[data-progress-status]");
  const text = box.querySelector("[data-progress-text]");
  const refresh = document.querySelector("[data-progress-refresh]");
  const warning = document.querySelector("[data-worker-warning]");
  if (refresh) refresh.hidden = true;
  let failures = 0;
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      failures = 0;
      if (data.percent === null) {
        bar.removeAttribute("value");
      } else {
        bar.value = data.percent;
        bar.textContent = `${data.percent}%`;
      }
      status.textContent = data.status_text;
      text.textContent = data.detail;
      if (warning) {
        warning.hidden = !data.worker_warning;
        const warningText = warning.querySelector(".govuk-warning-text__text");
        if (data.worker_warning && warningText) {
          warningText.lastChild.textContent = data.worker_warning;
        }
      }
      if (data.finished) {
        window.location.reload();
        return;
      }
    } catch (error) {
      failures += 1;
      if (failures >= 5 && refresh) refresh.hidden = false;
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1000);
}
