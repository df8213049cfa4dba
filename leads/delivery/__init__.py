"""Webhook delivery: the job that sends one delivery, the signed POST, and what its
answer means.

It runs on the worker's event loop: the database through the worker's own psycopg pool
in plain SQL, the partner through httpx's async client. One worker process then keeps
many requests in flight without a thread each, and spends its CPU on deliveries rather
than on the ORM (a delivery's two queries cost ten times their execution when built by
the ORM, measured) or on handing work to threads.

- job.py: the procrastinate job (`deliver`), its retry strategy, and `deliver_later`
- attempt.py: one attempt, top to bottom (`deliver_once`)
- outcome.py: what an attempt's outcome means for the delivery, written back
- http.py: the HTTP client and the signed request
- retry.py: the retry schedule, Retry-After, what is retryable, the busy back-off
- slots.py: the requests in flight per subscription
- queries.py, queries.sql: every query the worker makes
"""
