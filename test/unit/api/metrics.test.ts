import { expect } from 'chai';
import { parsePrometheus } from '@videoflix/testkit/prometheus';
import {
  createApiMetrics,
  methodLabel,
  routeTemplate,
  signInOutcome,
  streamKind,
  UNMATCHED_ROUTE,
} from '../../../api/infra/metrics.js';
import { lagSeconds } from '../../../api/infra/status-consumer.js';

describe('API metrics helpers', () => {
  it('labels methods from a fixed set', () => {
    expect(methodLabel('GET')).to.equal('GET');
    expect(methodLabel('DELETE')).to.equal('DELETE');
    expect(methodLabel('PROPFIND')).to.equal('other');
    expect(methodLabel('get')).to.equal('other');
  });

  it('builds the route template from the mount and the declared route, never the raw path', () => {
    expect(routeTemplate('/api/video/5/480p/segment_001.ts', '/video/:id/:resolution/:segment')).to.equal(
      '/api/video/:id/:resolution/:segment',
    );
    // Express matches with or without the trailing slash, and the mount case-insensitively
    expect(routeTemplate('/api/video/5/480p/segment_001.ts/', '/video/:id/:resolution/:segment')).to.equal(
      '/api/video/:id/:resolution/:segment',
    );
    expect(routeTemplate('/API/login', '/login/')).to.equal('/api/login/');
    expect(routeTemplate('/api/activate/MQ/abc-def/?x=1', '/activate/:uidb64/:token/')).to.equal(
      '/api/activate/:uidb64/:token/',
    );
    // routers mounted at the root
    expect(routeTemplate('/healthz', '/healthz')).to.equal('/healthz');
    expect(routeTemplate('/api/openapi.json', '/api/openapi.json')).to.equal('/api/openapi.json');
    // an encoded slash stays inside its segment
    expect(routeTemplate('/api/video/5%2F6/master.m3u8', '/video/:id/master.m3u8')).to.equal(
      '/api/video/:id/master.m3u8',
    );
    expect(UNMATCHED_ROUTE).to.equal('unmatched');
  });

  it('tells HLS answers by the contract content types', () => {
    expect(streamKind('application/vnd.apple.mpegurl')).to.equal('playlist');
    expect(streamKind('application/vnd.apple.mpegurl; charset=utf-8')).to.equal('playlist');
    expect(streamKind('video/MP2T')).to.equal('segment');
    expect(streamKind('application/json')).to.equal(undefined);
    expect(streamKind(undefined)).to.equal(undefined);
  });

  it('labels sign-ins by result and a bounded reason', () => {
    expect(signInOutcome(200, undefined)).to.deep.equal({ result: 'success', reason: '' });
    expect(signInOutcome(400, 'invalid_credentials')).to.deep.equal({
      result: 'failure',
      reason: 'invalid_credentials',
    });
    expect(signInOutcome(429, 'throttled')).to.deep.equal({ result: 'failure', reason: 'throttled' });
    // not an error code of ours: the status stands in (a label value never comes from the client)
    expect(signInOutcome(500, 'Some thing<script>')).to.deep.equal({ result: 'failure', reason: 'http_500' });
  });

  it("measures a status message's lag from its observedAt", () => {
    const now = Date.parse('2026-12-04T10:00:10.000Z');
    expect(lagSeconds({ observedAt: '2026-12-04T10:00:07.500Z' }, now)).to.equal(2.5);
    expect(lagSeconds({ observedAt: '2026-12-04T10:00:20.000Z' }, now)).to.equal(0); // clock skew
    expect(lagSeconds({ observedAt: 'yesterday' }, now)).to.equal(undefined);
    expect(lagSeconds({}, now)).to.equal(undefined);
    expect(lagSeconds(null, now)).to.equal(undefined);
  });

  it('renders a registry a strict parser accepts, with the pool read at scrape time', async () => {
    const m = createApiMetrics();
    let used = 1;
    m.sources.pool = () => ({ used, idle: 2, waiting: 0, max: 10 });
    m.sources.consumerConnected = () => true;
    m.httpRequests.inc({ route: '/api/login/', method: 'POST', status: '200' });
    m.uploadDuration.observe({ result: 'accepted' }, 12);
    used = 4;
    const parsed = parsePrometheus(await m.registry.metrics());
    expect(parsed.value('videoflix_api_db_pool_connections', { state: 'used' })).to.equal(4);
    expect(parsed.value('videoflix_api_db_pool_max')).to.equal(10);
    expect(parsed.value('videoflix_api_status_consumer_connected')).to.equal(1);
    expect(
      parsed.value('videoflix_api_upload_duration_seconds_bucket', { result: 'accepted', le: '15' }),
    ).to.equal(1);
    expect(
      parsed.value('videoflix_api_upload_duration_seconds_bucket', { result: 'accepted', le: '5' }),
    ).to.equal(0);
    expect(parsed.type('videoflix_api_http_request_duration_seconds')).to.equal('histogram');
  });
});
