import { AssertionError, ConfigError, TrinityError } from '@trinity/core';
import {
  CapacityExceededError,
  InvalidShardHashError,
  ManifestNotFoundError,
  ShardNotFoundError,
  ShardTooLargeError,
} from '@trinity/storage';
import { TxNotFoundError } from '@trinity/tx';
import { describe, expect, it } from 'vitest';
import { BadRequestError, NodeError, ObjectNotFoundError, PayloadTooLargeError } from '../src/errors.js';
import { errorStatus } from '../src/http/error-status.js';

describe('HTTP status by error type', () => {
  it('maps the libraries’ errors by class (known answers)', () => {
    expect(errorStatus(new ManifestNotFoundError('ab')).status).toBe(404);
    expect(errorStatus(new ShardNotFoundError('ab')).status).toBe(404);
    expect(errorStatus(new TxNotFoundError('abcdabcd')).status).toBe(404);
    expect(errorStatus(new ConfigError('bad', [])).status).toBe(400);
    expect(errorStatus(new InvalidShardHashError('bad hash')).status).toBe(400);
    expect(errorStatus(new CapacityExceededError('full', {})).status).toBe(507);
    expect(errorStatus(new ShardTooLargeError(10, 5)).status).toBe(507);
  });

  it('takes the daemon’s own errors at their word', () => {
    expect(errorStatus(new BadRequestError('x'))).toEqual({ status: 400, code: 'BAD_REQUEST', message: 'x' });
    expect(errorStatus(new ObjectNotFoundError('ab')).status).toBe(404);
    expect(errorStatus(new PayloadTooLargeError(10)).status).toBe(413);
    expect(errorStatus(new NodeError('TEAPOT', 'short and stout', 418)).status).toBe(418);
  });

  it('never guesses from the code: an unlisted class is a 500 whatever its code says', () => {
    class LookalikeError extends TrinityError {}
    expect(errorStatus(new LookalikeError('THING_NOT_FOUND', 'no thing')).status).toBe(500);
    expect(errorStatus(new LookalikeError('THING_INVALID', 'bad thing')).status).toBe(500);
    expect(errorStatus(new AssertionError('invariant broken')).status).toBe(500);
    expect(errorStatus(new Error('boom'))).toEqual({ status: 500, code: 'INTERNAL', message: 'boom' });
    expect(errorStatus('text')).toEqual({ status: 500, code: 'INTERNAL', message: 'text' });
  });
});
