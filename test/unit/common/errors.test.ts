/** The one mapping of infrastructure failures to 503 (common/errors): what each dependency's errors look like. */
import { ApiException } from '@kubernetes/client-node';
import { expect } from 'chai';
import { AmqpTimeoutError } from '../../../common/amqp/index.js';
import { UNAVAILABLE, isUnreachable, unavailable } from '../../../common/errors/index.js';
import { StorageError, StorageTimeoutError } from '../../../common/storage/index.js';

const named = (name: string) => Object.assign(new Error(name), { name });
const coded = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6443`), { code });

describe('common/errors: infrastructure failures are "unavailable"', () => {
  it('maps each dependency by the errors that name their origin', () => {
    expect(unavailable(new StorageError('reading b/k: ECONNREFUSED'))?.code).to.equal('storage_unavailable');
    expect(unavailable(new StorageTimeoutError(30_000))?.code).to.equal('storage_unavailable');
    for (const n of [
      'SequelizeConnectionRefusedError',
      'SequelizeHostNotReachableError',
      'ConnectionAcquireTimeoutError',
    ])
      expect(unavailable(named(n))?.code, n).to.equal('database_unavailable');
    // a query whose connection the server ended (the PostgreSQL Pod deleted), not a query that was wrong
    const dbError = (original: object) => Object.assign(named('SequelizeDatabaseError'), { original });
    for (const code of ['57P01', '57P02', '57P03'])
      expect(unavailable(dbError({ code }))?.code, code).to.equal('database_unavailable');
    expect(unavailable(dbError({ message: 'Connection terminated unexpectedly' }))?.code).to.equal(
      'database_unavailable',
    );
    expect(unavailable(dbError({ code: '42P01', message: 'relation "x" does not exist' }))).to.equal(
      undefined,
    );
    expect(unavailable(new AmqpTimeoutError('declaring', 10))?.code).to.equal('messaging_unavailable');
    expect(unavailable(new ApiException(500, 'boom', '{}', {}))?.code).to.equal('kubernetes_unavailable');
    expect(unavailable(named('AbortError'))?.code).to.equal('kubernetes_unavailable'); // a bounded call timed out
  });

  it('a bare socket error only where the caller knows whom it talked to', () => {
    for (const c of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']) {
      expect(isUnreachable(coded(c)), c).to.equal(true);
      expect(unavailable(coded(c))).to.equal(undefined);
      expect(unavailable(coded(c), 'kubernetes')).to.equal(UNAVAILABLE.kubernetes);
    }
    expect(isUnreachable(new TypeError('fetch failed', { cause: coded('ECONNREFUSED') }))).to.equal(true);
  });

  it('leaves everything else to the caller', () => {
    expect(unavailable(new Error('boom'), 'kubernetes')).to.equal(undefined);
    expect(unavailable(named('SequelizeUniqueConstraintError'))).to.equal(undefined);
    expect(unavailable(undefined)).to.equal(undefined);
    expect(unavailable(Object.assign(new Error('x'), { code: 'EACCES' }), 'storage')).to.equal(undefined);
  });

  it('answers with a clear detail and a stable code per dependency', () => {
    for (const u of Object.values(UNAVAILABLE)) {
      expect(u.code).to.equal(`${u.dependency === 'amqp' ? 'messaging' : u.dependency}_unavailable`);
      expect(u.detail).to.match(/unavailable, try again later\.$/);
    }
  });
});
