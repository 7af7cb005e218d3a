-- An endpoint that answered 410 Gone is disabled (Standard Webhooks): no event goes to it again until the
-- tenant registers it anew. The reason says what happened, for the tenant to see.
ALTER TABLE "WebhookEndpoint" ADD COLUMN "disabledAt" TIMESTAMP(3);
ALTER TABLE "WebhookEndpoint" ADD COLUMN "disabledReason" TEXT;
