CREATE TABLE "api_signatures" (
	"signature" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "api_signatures_expires_at_idx" ON "api_signatures" USING btree ("expires_at");