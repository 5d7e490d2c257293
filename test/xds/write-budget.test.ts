import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBudget, type WriteTicket } from '../../src/controlplane/xds/write-budget.js';

describe('WriteBudget', () => {
  it('admits up to the budget, then queues in arrival order until bytes are released', () => {
    const budget = new WriteBudget(100);
    const started: string[] = [];
    const tickets = new Map<string, WriteTicket>();
    const admit = (name: string, bytes: number) =>
      budget.admit(bytes, (t) => {
        started.push(name);
        tickets.set(name, t);
      });
    admit('a', 60);
    admit('b', 40);
    admit('c', 30);
    admit('d', 5); // small enough to fit beside c later, but it must not overtake c
    assert.deepEqual(started, ['a', 'b']);
    assert.equal(budget.bytesInFlight, 100);
    assert.equal(budget.queued, 2);
    assert.equal(budget.bytesInFlight, 100);
    admit('e', 20);
    tickets.get('b')!.release();
    assert.deepEqual(started, ['a', 'b', 'c', 'd']); // 60 + 30 + 5; e (20) no longer fits
    tickets.get('b')!.release(); // a second release changes nothing
    assert.equal(budget.bytesInFlight, 95);
    tickets.get('a')!.release();
    assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(budget.bytesInFlight, 55);
  });

  it('sends a response larger than the whole budget once nothing else is in flight', () => {
    const budget = new WriteBudget(10);
    const started: number[] = [];
    let first: WriteTicket | undefined;
    budget.admit(5, (t) => {
      started.push(5);
      first = t;
    });
    budget.admit(50, () => started.push(50));
    assert.deepEqual(started, [5]);
    first!.release();
    assert.deepEqual(started, [5, 50]);
    assert.equal(budget.bytesInFlight, 50);
  });
});
