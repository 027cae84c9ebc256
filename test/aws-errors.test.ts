/**
 * aws/errors.ts is the one place that reads what an AWS SDK error means. Each
 * judgement holds for the SDK's error as it is thrown, and for the store's
 * error the gateway made of it (the SDK's error is its cause), and not for
 * other errors that look alike.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import {
  isAlreadyThere,
  isDenied,
  isMissingIndex,
  isNotFound,
  isThrottle,
  isWriteConflict,
  streamFailure,
} from '../src/aws/errors.js';
import { SessionStoreError } from '../src/errors.js';

/** An error as the SDK throws it for an answer of DynamoDB's with `__type` `name`. */
const sdk = (name: string, message = `${name} happened`) =>
  new DynamoDBServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400, attempts: 1 } });

/** The same, as the store throws it: its own error with the SDK's as the cause. */
const wrapped = (name: string, message?: string) =>
  new SessionStoreError('DSM_DYNAMODB', `DynamoDB refused the call (${name})`, { cause: sdk(name, message) });

const CASES: Array<[string, (err: unknown) => boolean, string, string?]> = [
  ['a transaction in the way', isWriteConflict, 'TransactionConflictException'],
  ["another Region's write in the way (MRSC)", isWriteConflict, 'ReplicatedWriteConflictException'],
  ['a table that is not there', isNotFound, 'ResourceNotFoundException'],
  ['a table made meanwhile by another process', isAlreadyThere, 'ResourceInUseException'],
  ['a Query on an index the table lacks', isMissingIndex, 'ValidationException', 'The table does not have the specified index: userId-index'],
  ['a throttle', isThrottle, 'ProvisionedThroughputExceededException'],
  ['an action the IAM policy lacks', isDenied, 'AccessDeniedException'],
];

describe('what an SDK error means (aws/errors.ts)', () => {
  for (const [what, judge, name, message] of CASES) {
    it(`${what} (${name}): as thrown by the SDK, and as the cause of the store's error`, () => {
      assert.equal(judge(sdk(name, message)), true);
      assert.equal(judge(wrapped(name, message)), true);
    });
    it(`${what}: not another error (${name} judged against the others)`, () => {
      assert.equal(judge(sdk('ConditionalCheckFailedException')), false);
      assert.equal(judge(new Error(`${name}`)), false);
      assert.equal(judge(null), false);
    });
  }

  it('a ValidationException about something other than an index is not a missing index', () => {
    assert.equal(isMissingIndex(wrapped('ValidationException', 'One or more parameter values were invalid: an AttributeValue may not contain an empty string')), false);
  });

  it("a stream read's failure: trimmed records, an expired iterator, a shard gone, or something else", () => {
    assert.equal(streamFailure(sdk('TrimmedDataAccessException')), 'trimmed');
    assert.equal(streamFailure(sdk('ExpiredIteratorException')), 'expired-iterator');
    assert.equal(streamFailure(sdk('ResourceNotFoundException')), 'not-found');
    assert.equal(streamFailure(sdk('InternalServerError')), 'other');
    assert.equal(streamFailure(new Error('socket hang up')), 'other');
  });
});
