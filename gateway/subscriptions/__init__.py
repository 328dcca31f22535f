"""R4 Subscriptions (rest-hook), filtered by the subscriber's access.

- `rules`: what a Subscription may say (criteria, channel), checked on create and update; its
  status as R4 has it (requested → active after a handshake; error; off by the owner, or once its
  `end` has passed).
- `lifecycle`: what the repository runs on a Subscription's create, update and delete (the
  handshake owed to a `requested` one goes into the outbox with the write).
- `store`: who owns a Subscription (the access it was created under) and its delivery state.
- `matching`: on every write, in the write's transaction, which active Subscriptions the new
  version matches AND whose owner may see it now (the owner's `Repository.clause`): a notification
  row goes into the write-back outbox, audited like a search disclosure.
- `notify`: what the worker POSTs (an empty body, or an id-only history Bundle) and how the
  Subscription's status follows the deliveries.
"""
