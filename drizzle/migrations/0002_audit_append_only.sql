-- Custom migration (drizzle-kit generate --custom --name audit_append_only): the audit log is append-only at
-- the database level too. The hash chain (drizzle/queries/audit.ts) makes tampering evident; this trigger
-- stops it happening by accident or through the application role. Row triggers on a partitioned table are
-- cloned onto every partition, present and future.
--
-- One exception, for partition maintenance only: with `SET LOCAL aiserve.audit_maintenance = 'move'` a DELETE
-- is allowed, so rows that landed in audit_log_default can be moved (unchanged, hashes intact) into a newly
-- created monthly partition. Detaching or dropping a whole partition fires no row trigger.
CREATE FUNCTION "audit_log_reject_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' AND current_setting('aiserve.audit_maintenance', true) = 'move' THEN
		RETURN OLD;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "audit_log"
	FOR EACH ROW EXECUTE FUNCTION "audit_log_reject_change"();
--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "audit_log"
	FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_reject_change"();
