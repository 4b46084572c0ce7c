"""One module per configuration section; `config.schema` assembles them."""
