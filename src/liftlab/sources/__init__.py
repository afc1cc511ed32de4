"""Events in the shapes the SDKs teams already run send: Segment's tracking API and PostHog's
capture API, mapped to native events and stored by ``liftlab.ingest`` like any other batch."""
