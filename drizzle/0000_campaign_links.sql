CREATE TABLE "campaign_links" (
	"id" integer PRIMARY KEY NOT NULL,
	"campaign" text,
	"adgroup" text,
	"ad" text,
	"network" text,
	"country" text,
	"device" text,
	"campaign_url" varchar(1024),
	"target_url" json DEFAULT '{}'::json NOT NULL,
	"attribution_window_fingerprint" integer,
	"attribution_window_idfa" integer,
	"user_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
