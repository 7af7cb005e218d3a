import { describe, expect, it } from 'vitest';
import { createApiMetrics, createRegistry, createWorkerMetrics, UPLOAD_SOURCES } from '../../lib/metrics';

describe('the uploads-accepted counter', () => {
  it('counts each source the API serves, a batch by its files, and Kafka on the worker', async () => {
    const api = createApiMetrics(createRegistry());
    api.uploadAccepted('acme', 'http', 10);
    api.uploadAccepted('acme', 'batch', 300, 3);
    api.uploadAccepted('acme', 'presigned', 20);
    api.uploadAccepted('acme', 'tus', 40);
    const worker = createWorkerMetrics(createRegistry());
    worker.uploadAccepted('acme', 'kafka', 5);

    const apiText = await api.registry.metrics();
    expect(apiText).toContain('intake_uploads_accepted_total{tenant="acme",source="http"} 1');
    expect(apiText).toContain('intake_uploads_accepted_total{tenant="acme",source="batch"} 3');
    expect(apiText).toContain('intake_uploads_accepted_total{tenant="acme",source="presigned"} 1');
    expect(apiText).toContain('intake_uploads_accepted_total{tenant="acme",source="tus"} 1');
    expect(apiText).toContain('intake_upload_bytes_total 370');
    const workerText = await worker.registry.metrics();
    expect(workerText).toContain('intake_uploads_accepted_total{tenant="acme",source="kafka"} 1');
    expect(workerText).toContain('intake_upload_bytes_total 5');
    expect(UPLOAD_SOURCES).toEqual(['http', 'batch', 'presigned', 'tus', 'kafka']);
  });
});
