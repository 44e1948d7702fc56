"""A form or an API call that is sent twice makes one record (see :mod:`.services`)."""
