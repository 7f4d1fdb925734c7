"""Client callbacks: a job's status body posted to the `callback_url` its upload named, when it completes or fails.

- `models` / `repository`: the delivery (one per terminal event, its Standard Webhooks `webhook-id` stable across
  retries) and its attempts, in the database, so a pending callback survives any restart;
- `signing`: the Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`);
- `address_guard`: which URLs a callback may reach (no loopback, private, link-local, … unless allowed);
- `schedule`: when the next attempt is due (exponential backoff with jitter, within a 24 h window);
- `sender`: one signed POST to the checked address, redirects refused, the answer kept short;
- `delivery`: planning a delivery with the terminal transition, claiming a due one, making and recording an attempt;
- `dispatcher`: the API's thread that makes due attempts, woken when a delivery is planned.
"""
