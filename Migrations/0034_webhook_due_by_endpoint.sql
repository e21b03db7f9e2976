-- The dispatcher asks for due deliveries endpoint by endpoint (issue 11).
--
-- Why: it asked for the earliest due deliveries of all endpoints, leaving out those whose
-- endpoint already had its share under way. With a backlog on one endpoint (10,000 events,
-- or a receiver that holds), every round walked the whole backlog through the old index and
-- found nothing it could take: most of the coordinator's time. Per endpoint, a round reads
-- the few leased rows at the front of each endpoint's range and stops.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(endpoint_id, next_attempt_at, id) WHERE state = 'pending';
