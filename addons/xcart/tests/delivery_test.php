<?php

declare(strict_types=1);

/*
 * The sender's decisions over a scripted transport (tests/e2e/test_xcart_addon_contract.py runs it; prints
 * "delivery: ok" last when every check holds, exits 1 naming the first that does not).
 */

use XCFB\Webhooks\Contract\Delivery;
use XCFB\Webhooks\Contract\MemoryOutbox;
use XCFB\Webhooks\Contract\Sender;
use XCFB\Webhooks\Contract\Signer;

require __DIR__ . '/bootstrap.php';

function check(bool $holds, string $what): void
{
    if (!$holds) {
        fwrite(STDOUT, "FAILED: $what\n");
        exit(1);
    }
    fwrite(STDOUT, "ok: $what\n");
}

$answers = []; // event id => the statuses the "service" answers, in turn (null: no answer at all)
$posted = [];
$transport = static function (string $url, array $headers, string $body, int $timeout) use (&$answers, &$posted): array {
    $id = json_decode($body, true)['id'];
    $posted[] = [$id, $headers];
    $status = array_shift($answers[$id]);
    return [$status, $status === null ? '' : '{}', $status === null ? 'connection refused' : null];
};
$outbox = new MemoryOutbox();
$logged = [];
$delivery = new Delivery($outbox, new Sender('https://books.example.com/webhooks/xcart', new Signer(['new', 'old']),
    $transport), static function (string $line) use (&$logged): void { $logged[] = $line; }, 5, 3600, 4);
$answers = ['busy' => [503, 429, null, 202], 'bad' => [401], 'broken' => [500, 500, 500, 500], 'dup' => [200]];
foreach (array_keys($answers) as $id) {
    $outbox->add($id, 'order.updated', json_encode(['id' => $id]), 1000);
}
$outbox->add('dup', 'order.updated', json_encode(['id' => 'dup', 'again' => true]), 1000);
check(count($outbox->rows) === 4, 'an event id is queued once');

check($delivery->run(100, 1000) === ['sent' => 1, 'retry' => 2, 'dead' => 1], 'first run: dup sent, bad dead, two to retry');
check($outbox->rows[1]['state'] === 'dead' && $outbox->rows[1]['last_status'] === 401, '401 is dead at once');
check(str_contains($logged[0] ?? '', 'event bad is dead after 1 attempt(s): HTTP 401'), 'a dead event is logged');
check($outbox->due(1004, 100) === [], 'nothing is due before its backoff');
$next = $outbox->rows[0]['next_attempt_at'];
check($next >= 1005 && $next <= 1006, "the first retry waits 5 s plus jitter (got $next)");

$now = 1000;
for ($run = 0; $run < 3; $run++) {
    $now += 10000;
    $delivery->run(100, $now);
}
check($outbox->rows[0]['state'] === 'sent' && $outbox->rows[0]['attempts'] === 4, '503, 429, no answer: retried until 202');
check($outbox->rows[2]['state'] === 'dead' && $outbox->rows[2]['last_error'] === 'HTTP 500',
      'always 500: dead after the maximum attempts, kept in the outbox');
check(count($posted) === 10, 'nothing is posted again once it is sent or dead (' . count($posted) . ' posts)');
check($delivery->delay(30) >= 3600 && $delivery->delay(30) <= 4500, 'the backoff is capped');

preg_match('/^X-XCart-Signature: t=(\d+),v1=([0-9a-f]{64}),v1=([0-9a-f]{64})$/', $posted[0][1][1], $m);
check($m && $m[2] === hash_hmac('sha256', "$m[1]." . json_encode(['id' => 'busy']), 'new')
      && $m[3] === hash_hmac('sha256', "$m[1]." . json_encode(['id' => 'busy']), 'old'), 'one v1 per secret');
check(!str_contains(print_r(new Signer(['hush-hush']), true), 'hush-hush'), 'a dump of the signer shows no secret');

echo "delivery: ok\n";
