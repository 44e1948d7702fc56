// Draws the charts of the report pages with Chart.js (loaded before this module as
// chart.umd.min.js). Each chart's data is a JSON <script type="application/json"> inside a
// <figure class="app-chart" data-chart-source="ID">; the same figures are always in the
// table after it, which is the text alternative. No inline script (CSP).
const PALETTE = ['#1d70b8', '#d4351c', '#00703c', '#f47738', '#4c2c92', '#505a5f', '#912b88', '#28a197']

function draw (figure) {
  const Chart = window.Chart
  const source = document.getElementById(figure.dataset.chartSource)
  if (!Chart || !source) return
  const spec = JSON.parse(source.textContent)
  const canvas = document.createElement('canvas')
  canvas.setAttribute('role', 'img')
  canvas.setAttribute('aria-label', spec.title + '. The figures are in the table that follows.')
  const wrapper = document.createElement('div')
  wrapper.className = 'app-chart__canvas'
  wrapper.appendChild(canvas)
  figure.insertBefore(wrapper, figure.firstChild)
  // eslint-disable-next-line no-new
  new Chart(canvas, {
    type: spec.type === 'line' ? 'line' : 'bar',
    data: {
      labels: spec.labels,
      datasets: spec.datasets.map((d, i) => ({
        label: d.label,
        data: d.data,
        backgroundColor: PALETTE[i % PALETTE.length],
        borderColor: PALETTE[i % PALETTE.length],
        borderWidth: 2
      }))
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: spec.datasets.length > 1 } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  })
}

// Redraw at print size so the printed chart is sharp and fits the page.
window.addEventListener('beforeprint', () => {
  for (const id in (window.Chart && window.Chart.instances) || {}) window.Chart.instances[id].resize()
})

document.querySelectorAll('figure.app-chart[data-chart-source]').forEach(draw)
