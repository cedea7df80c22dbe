CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"plan" text DEFAULT 'free' NOT NULL,
	"requests_per_minute" integer DEFAULT 60 NOT NULL,
	"burst" integer DEFAULT 10 NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_name_key" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"prefix" text NOT NULL,
	"secret_hash" text NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"scopes" text[] DEFAULT ARRAY['*']::text[] NOT NULL,
	"env" text DEFAULT 'live' NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"rotated_from_id" uuid,
	"last_used_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_prefix_key" UNIQUE("prefix"),
	CONSTRAINT "api_keys_env_check" CHECK ("api_keys"."env" IN ('live', 'test'))
);
--> statement-breakpoint
CREATE TABLE "models" (
	"name" text PRIMARY KEY NOT NULL,
	"cacheable" boolean DEFAULT true NOT NULL,
	"cache_ttl_seconds" integer DEFAULT 300 NOT NULL,
	"shareable" boolean DEFAULT false NOT NULL,
	"visibility" text DEFAULT 'public' NOT NULL,
	"owner_tenant_id" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "models_cache_ttl_check" CHECK ("models"."cache_ttl_seconds" >= 0),
	CONSTRAINT "models_visibility_check" CHECK ("models"."visibility" IN ('public', 'private'))
);
--> statement-breakpoint
CREATE TABLE "gpu_instances" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"provider" text NOT NULL,
	"provider_instance_id" text,
	"client_token" text NOT NULL,
	"region" text NOT NULL,
	"gpu_type" text NOT NULL,
	"status" text NOT NULL,
	"hourly_cost_usd" numeric(10, 4),
	"public_url" text,
	"launched_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"terminated_at" timestamp with time zone,
	"failure_reason" text,
	CONSTRAINT "gpu_instances_client_token_key" UNIQUE("client_token")
);
--> statement-breakpoint
CREATE TABLE "origins" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"region" text NOT NULL,
	"status" text NOT NULL,
	"models" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"instance_id" uuid
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_rotated_from_id_api_keys_id_fk" FOREIGN KEY ("rotated_from_id") REFERENCES "public"."api_keys"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_owner_tenant_id_tenants_id_fk" FOREIGN KEY ("owner_tenant_id") REFERENCES "public"."tenants"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "origins" ADD CONSTRAINT "origins_instance_id_gpu_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."gpu_instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_tenant_active_idx" ON "api_keys" USING btree ("tenant_id","created_at" DESC NULLS LAST) WHERE "api_keys"."revoked_at" IS NULL;--> statement-breakpoint
CREATE INDEX "gpu_instances_live_idx" ON "gpu_instances" USING btree ("provider","status") WHERE "gpu_instances"."terminated_at" IS NULL;--> statement-breakpoint
CREATE INDEX "gpu_instances_provider_id_idx" ON "gpu_instances" USING btree ("provider","provider_instance_id");--> statement-breakpoint
CREATE INDEX "origins_region_last_seen_idx" ON "origins" USING btree ("region","last_seen_at" DESC NULLS LAST);