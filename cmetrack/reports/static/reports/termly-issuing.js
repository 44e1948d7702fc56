// A termly report issued in the background: follow its progress and open it when it is
// issued. Without JavaScript the page has a refresh link (the page itself redirects).
const box = document.querySelector("[data-issue-progress]");
if (box) {
  const bar = box.querySelector("[data-progress-bar]");
  const status = box.querySelector("[data-progress-status]");
  const text = box.querySelector("[data-progress-text]");
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      bar.value = data.percent;
      bar.textContent = `${data.percent}%`;
      status.textContent = data.stage_text;
      text.textContent = `Step ${data.stage + 1} of 3.`;
      if (data.href) {
        window.location.assign(data.href);
        return;
      }
      if (data.finished) {
        window.location.reload();
        return;
      }
    } catch (error) {
      // Keep trying: the refresh link is there too.
    }
    window.setTimeout(poll, 1500);
  };
  window.setTimeout(poll, 1000);
}
