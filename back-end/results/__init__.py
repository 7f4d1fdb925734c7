"""The internal results channel: how a worker tells the API what happened to a job (signed webhook), and where
it keeps a result the API could not take yet (outbox). Clients' own webhooks are `callbacks/`."""
