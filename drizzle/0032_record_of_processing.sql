-- The record of processing (GDPR Art. 30, issue 15, ADR 036): one row per version, the whole record
-- in each (purposes and their legal bases, data categories with their retention, processors and
-- recipients with their agreements and transfers, sources, rights). An edit adds a version; none
-- is changed or removed, so every older version stays readable with who made it and when. The
-- access package's Art. 15 section is drawn from the newest. Version 1 is seeded here (no editor).
CREATE TABLE "console"."processing_record_versions" (
	"version" integer PRIMARY KEY NOT NULL,
	"content" jsonb NOT NULL,
	"edited_by" uuid,
	"edited_at" timestamp with time zone NOT NULL,
	CONSTRAINT "processing_record_versions_version_check" CHECK (version >= 1),
	CONSTRAINT "processing_record_versions_content_check" CHECK (jsonb_typeof(content) = 'object')
);
--> statement-breakpoint
ALTER TABLE "console"."processing_record_versions" ADD CONSTRAINT "processing_record_versions_edited_by_staff_id_fk" FOREIGN KEY ("edited_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON "console"."processing_record_versions" FROM custodian_app;--> statement-breakpoint
INSERT INTO "console"."processing_record_versions" ("version", "content", "edited_by", "edited_at") VALUES (1, $seed${
  "purposes": [
    {
      "name": "Providing the service",
      "legalBasis": "contract",
      "description": "To provide, operate and maintain the chat service and its features (your account, conversations and payments), send service updates, answer your inquiries and requests, and provide support."
    },
    {
      "name": "Billing",
      "legalBasis": "contract",
      "description": "To charge for paid plans and keep the payment records the law requires."
    },
    {
      "name": "Security",
      "legalBasis": "legitimate_interests",
      "description": "To detect abuse, prevent misuse and protect against security threats."
    },
    {
      "name": "Analytics on aggregates",
      "legalBasis": "legitimate_interests",
      "description": "To analyse usage patterns in aggregate (analytics shows no group smaller than a minimum size, and adds noise), unless you objected."
    },
    {
      "name": "AI training",
      "legalBasis": "legitimate_interests",
      "description": "To train and improve our AI models, unless you opted out of or objected to training."
    },
    {
      "name": "Personalisation",
      "legalBasis": "consent",
      "description": "To customise your experience and remember conversation context within sessions, unless you opted out."
    }
  ],
  "categories": [
    {
      "name": "Profile",
      "description": "Your name, email address, phone number (if given), country, language, plan and account status.",
      "retention": "While your account exists; removed when you ask us to erase your account."
    },
    {
      "name": "Conversations",
      "description": "Their titles and every message, with the model used and token counts.",
      "retention": "While your account exists, until you delete messages or ask us to erase your account.",
      "policy": "messages"
    },
    {
      "name": "Payments",
      "description": "References to your payment method at our payment provider (brand, last four digits, expiry), never the full card number.",
      "retention": "While your account exists; after an erasure, only the payment references tax law requires us to keep, for as long as it requires.",
      "policy": "payment_references"
    },
    {
      "name": "Usage",
      "description": "Events such as messages sent, sign-ins and plan changes, with their time and country.",
      "retention": "While your account exists; removed when you ask us to erase your account.",
      "policy": "usage_events"
    },
    {
      "name": "Data-use preferences",
      "description": "Your choices per purpose (training, analytics, personalisation, marketing) and their history.",
      "retention": "While your account exists; removed when you ask us to erase your account."
    },
    {
      "name": "Privacy requests",
      "description": "The requests you made to us and their state.",
      "retention": "Kept as the record of your requests; after an erasure, under a pseudonym only."
    },
    {
      "name": "Staff access",
      "description": "When our staff looked at which category of your data, and why (access-history.json).",
      "retention": "Kept in our audit trail; after an erasure, under a pseudonym only.",
      "policy": "audit_contents"
    },
    {
      "name": "Copies of your data",
      "description": "The access and portability packages we make at your request.",
      "retention": "Deleted automatically when the download link expires (seven days after it was made, unless configured otherwise). A backup taken before a deletion keeps the data until that backup itself expires."
    }
  ],
  "recipients": [
    {
      "name": "Stripe",
      "kind": "payment_provider",
      "agreement": "Data processing agreement, Stripe Services Agreement (signed 2025-01-15)",
      "receives": "Payment details for payments you make.",
      "transfers": "United States, under the EU Standard Contractual Clauses and the EU-US Data Privacy Framework."
    },
    {
      "name": "PayPal",
      "kind": "payment_provider",
      "agreement": "PayPal data protection addendum (signed 2025-02-03)",
      "receives": "Payment details for payments you make through PayPal.",
      "transfers": "United States, under the EU Standard Contractual Clauses."
    },
    {
      "name": "Amazon Web Services",
      "kind": "cloud_hosting",
      "agreement": "AWS GDPR Data Processing Addendum (in force since 2024-11-01)",
      "receives": "All data, stored for us under strict privacy agreements (eu-central-1).",
      "transfers": "None: stored in the EU (Frankfurt)."
    },
    {
      "name": "Google Cloud",
      "kind": "cloud_hosting",
      "agreement": "Google Cloud Data Processing Addendum (in force since 2024-11-01)",
      "receives": "Backups and model-training infrastructure, under strict privacy agreements.",
      "transfers": "None: stored in the EU (Belgium)."
    },
    {
      "name": "Plausible Insights",
      "kind": "analytics_provider",
      "agreement": "Data processing agreement (signed 2025-04-10): aggregated figures only",
      "receives": "Limited, aggregated usage figures only, never data about one person.",
      "transfers": "None: processed in the EU."
    },
    {
      "name": "Our authorised staff",
      "kind": "staff",
      "agreement": "Employment contracts with confidentiality undertakings",
      "receives": "Only with a time-limited grant approved by a second person, each access recorded in an audit trail (see access-history.json).",
      "transfers": "None."
    }
  ],
  "sources": [
    "From you, as you use the service (your profile, conversations, payments and preferences), and from the service itself (usage events, model replies).",
    "We do not buy or receive data about you from third parties."
  ],
  "rights": [
    "You may ask for a copy of your data (this package), have inaccurate data corrected, have your account and data erased, receive your conversations in a machine-readable format, opt out of uses such as AI training, and object to processing.",
    "You may complain to a data protection supervisory authority.",
    "No decision with legal or similarly significant effect is made about you by automated means alone."
  ]
}$seed$::jsonb, NULL, now());
--> statement-breakpoint
-- The inquiries policy's reason no longer says "not built yet" (the purge of closed inquiries'
-- texts came with the inquiries); only where an admin has not rewritten it.
UPDATE "console"."retention_policies"
   SET reason = 'Closed inquiries keep their texts two years to answer follow-ups; then the subject and the thread are removed and the row (dates, state) stays.'
 WHERE category = 'inquiries'
   AND reason = 'Closed inquiries are kept two years to answer follow-ups (not built yet).';
