import { index, integer, json, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";

/** Platform name (as the platform detector names it) → URL, plus the keys "default" and "fallback". */
export type TargetUrl = Record<string, string>;

export const campaignLinks = pgTable("campaign_links", {
  // Ids are assigned by the analytics tool, never by a sequence here.
  id: integer("id").primaryKey(),
  campaign: text("campaign"),
  adgroup: text("adgroup"),
  ad: text("ad"),
  network: text("network"),
  country: text("country"),
  device: text("device"),
  campaignUrl: varchar("campaign_url", { length: 1024 }),
  targetUrl: json("target_url").$type<TargetUrl>().notNull().default({}),
  attributionWindowFingerprint: integer("attribution_window_fingerprint"),
  attributionWindowIdfa: integer("attribution_window_idfa"),
  userId: integer("user_id"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type CampaignLink = typeof campaignLinks.$inferSelect;
export type NewCampaignLink = typeof campaignLinks.$inferInsert;

/**
 * v2 link API signatures already accepted, so that none is accepted twice (on any machine) while its
 * timestamp is still within the window. Rows past `expires_at` are purged as requests come.
 */
export const apiSignatures = pgTable(
  "api_signatures",
  {
    // Hex HMAC-SHA256 of the request: the same request signed twice is the same row.
    signature: text("signature").primaryKey(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [index("api_signatures_expires_at_idx").on(table.expiresAt)],
);

/** What the background checks found out about a destination (see src/destinations/). */
export const DESTINATION_STATES = ["alive", "dead", "unknown"] as const;
export type DestinationState = (typeof DESTINATION_STATES)[number];

/** One row per distinct target URL, exactly as the links write it; written by the one machine that checks. */
export const destinations = pgTable("destinations", {
  url: text("url").primaryKey(),
  state: text("state").$type<DestinationState>().notNull(),
  /** Why it is in this state: an HTTP status, or what went wrong (dns, tls, timeout, ...). */
  reason: text("reason").notNull(),
  /** When it entered this state. */
  since: timestamp("since", { withTimezone: true }).notNull(),
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  checkedAt: timestamp("checked_at", { withTimezone: true }).notNull(),
});

export type Destination = typeof destinations.$inferSelect;
