-- Every query of the delivery worker, read once by queries.py. Each one is a header line
-- "-- name --", comment lines saying what it is for, then the query, whose parameters are
-- %(name)s. The tables are those of leads.Delivery, leads.LeadEvent and
-- subscriptions.Subscription. A write to a delivery sets only the columns it changes,
-- and only while the delivery is pending unless it says otherwise: a cancellation
-- committed meanwhile (a subscription DELETE) stays. A delivery that leaves pending
-- leaves its subscription's backlog counter (leads.DeliveryBacklog) in the same
-- statement; a query that finds no delivery to change returns no row.

-- delivery_attempt --
-- What one webhook request needs, in one query: the delivery, its event's body, and its
-- subscription (none once deleted).
SELECT d.id, d.action, d.state, d.attempts, e.body, s.id, s.url, s.secret_encrypted, s.active,
    d.created
FROM leads_delivery d
JOIN leads_leadevent e ON e.id = d.event_id
LEFT JOIN subscriptions_subscription s ON s.id = d.subscription_id
WHERE d.id = %(delivery_id)s;

-- finish --
-- The final state, no request made (its subscription gone, its secret unreadable, an
-- unexpected error past the schedule).
WITH finished AS (
    UPDATE leads_delivery
    SET state = %(state)s, finished = %(finished)s, next_attempt_at = NULL,
        last_error = %(last_error)s, updated = %(updated)s
    WHERE id = %(delivery_id)s AND state = 'pending'
    RETURNING subscription_id
), backlog AS (
    UPDATE leads_deliverybacklog SET pending = pending - 1
    WHERE subscription_id = (SELECT subscription_id FROM finished)
)
SELECT FROM finished;

-- finish_after_attempt --
-- The final state, and what the request left.
WITH finished AS (
    UPDATE leads_delivery
    SET state = %(state)s, finished = %(finished)s, next_attempt_at = NULL,
        last_error = %(last_error)s, attempts = %(attempts)s,
        last_status_code = %(last_status_code)s, response_snippet = %(response_snippet)s,
        updated = %(updated)s
    WHERE id = %(delivery_id)s AND state = 'pending'
    RETURNING subscription_id
), backlog AS (
    UPDATE leads_deliverybacklog SET pending = pending - 1
    WHERE subscription_id = (SELECT subscription_id FROM finished)
)
SELECT FROM finished;

-- record_attempt --
-- What the request left, whatever the state: a delivery cancelled while its request was
-- in flight keeps its cancellation and the reason.
UPDATE leads_delivery
SET attempts = %(attempts)s, last_status_code = %(last_status_code)s,
    response_snippet = %(response_snippet)s, updated = %(updated)s
WHERE id = %(delivery_id)s;

-- retry_after_attempt --
-- Another try later, and what the request left.
UPDATE leads_delivery
SET last_error = %(last_error)s, next_attempt_at = %(next_attempt_at)s,
    attempts = %(attempts)s, last_status_code = %(last_status_code)s,
    response_snippet = %(response_snippet)s, updated = %(updated)s
WHERE id = %(delivery_id)s AND state = 'pending';

-- count_attempt --
-- One more attempt without a request (an unexpected error), so that an error that never
-- goes away uses up the schedule; the attempts then.
UPDATE leads_delivery SET attempts = attempts + 1, updated = now()
WHERE id = %(delivery_id)s AND state = 'pending'
RETURNING attempts;

-- retry --
-- Another try later, no request made (an unexpected error, counted by count_attempt).
UPDATE leads_delivery
SET last_error = %(last_error)s, next_attempt_at = %(next_attempt_at)s, updated = %(updated)s
WHERE id = %(delivery_id)s AND state = 'pending';

-- postpone --
-- Another try later, no attempt counted: the partner had no free slot.
UPDATE leads_delivery SET next_attempt_at = %(next_attempt_at)s, updated = %(updated)s
WHERE id = %(delivery_id)s AND state = 'pending';
