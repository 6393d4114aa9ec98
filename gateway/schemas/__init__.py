"""Wire vocabularies shared by the bridge, the handlers and the prober: names and shapes only, no behaviour."""
