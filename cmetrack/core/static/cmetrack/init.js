import { initAll } from './govuk-frontend.min.js'
import { enhanceAutocompletes } from './autocomplete.js'
initAll()
enhanceAutocompletes()
