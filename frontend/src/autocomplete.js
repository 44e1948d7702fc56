// Accessible autocomplete (GOV.UK's accessible-autocomplete) for long lists of schools and
// local authorities. Progressive enhancement: the page works with the plain <select>; with
// JavaScript, each <select data-app-autocomplete> becomes a text box that suggests as you
// type, and still sends the select's value. Loaded only on pages that have such a select.
export async function enhanceAutocompletes (root = document) {
  const selects = root.querySelectorAll('select[data-app-autocomplete]')
  if (!selects.length) return
  // The UMD build sets self.accessibleAutocomplete when run as a module.
  await import('./accessible-autocomplete.min.js')
  const accessibleAutocomplete = self.accessibleAutocomplete
  for (const select of selects) {
    const chosen = select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null
    const id = select.id
    // GOV.UK's text box look (and font); red when the select was shown with an error.
    const error = select.classList.contains('govuk-select--error') ? ' govuk-input--error' : ''
    accessibleAutocomplete.enhanceSelectElement({
      selectElement: select,
      // An empty choice ("Choose a school") is shown as an empty box, not as its words.
      defaultValue: chosen && chosen.value ? chosen.textContent : '',
      showAllValues: true,
      // No typeahead hint: its extra text box has no label (axe-core's "label" rule).
      autoselect: false,
      inputClasses: 'govuk-input' + error,
      tNoResults: () => 'No results found',
      tStatusQueryTooShort: (n) => `Type in ${n} or more characters for results`
    })
    // Clearing the box clears the choice (the library keeps the last one otherwise).
    const input = document.getElementById(id)
    if (input && input.form) {
      input.form.addEventListener('submit', () => {
        if (!input.value.trim()) select.value = ''
      })
    }
  }
}
