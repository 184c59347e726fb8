<?php

declare(strict_types=1);

/*
 * The contract test's PHP side (tests/e2e/test_xcart_addon_contract.py runs it): the add-on's own Signer,
 * EventBuilder, Sender and Delivery post events to a running ingest endpoint and report every answer as JSON
 * on stdout. It judges nothing itself: the Python side asserts on these answers and on what ingest queued.
 *
 *   php contract.php URL OLD_SECRET NEW_SECRET STORE ORDER_JSON_FILE RUN
 */

use XCFB\Webhooks\Contract\Delivery;
use XCFB\Webhooks\Contract\EventBuilder;
use XCFB\Webhooks\Contract\MemoryOutbox;
use XCFB\Webhooks\Contract\Sender;
use XCFB\Webhooks\Contract\Signer;

require __DIR__ . '/bootstrap.php';

[, $url, $oldSecret, $newSecret, $store, $orderFile, $run] = $argv;

/** An API output DTO as X-Cart 5.5 makes them: public snake_case properties, dates as DateTime. */
final class ProductOutput
{
    public int $id = 17;
    public string $sku = 'TEA-EG-100';
    public string $name = 'Earl Grey, 100 g';
    public float $price = 12.0;
    public int $amount = 240;
    public bool $enabled = true;
    public \DateTimeImmutable $update_date;
    public array $images = [];
    private string $internal = 'not part of the API output';

    public function __construct(string $run)
    {
        $this->update_date = new \DateTimeImmutable('2026-11-29 10:00:00', new \DateTimeZone('Europe/Paris'));
        $this->name .= " ($run)";
    }
}

$builder = new EventBuilder($store);
$order = json_decode(file_get_contents($orderFile), true, 512, JSON_THROW_ON_ERROR)['data'];
$order['notes'] = "contract run $run"; // a change of its own each run: its own event id
$results = [];

function report(string $case, array $event, string $body, array $result): array
{
    return ['case' => $case, 'id' => $event['id'], 'body' => $body, 'status' => $result['status'],
            'outcome' => $result['outcome'], 'answer' => json_decode($result['answer'] ?? '', true)];
}

// 1. A fresh event, signed with the old (first) secret: accepted. 2. The same again: a duplicate.
$oldSender = new Sender($url, new Signer([$oldSecret]));
$placed = $builder->build('order.created', $order);
$body = EventBuilder::encode($placed);
$results[] = report('fresh', $placed, $body, $oldSender->send($body));
$results[] = report('again', $placed, $body, $oldSender->send($body));

// 3. Tampered: signed, then one figure changed on the way.
$changed = $order;
$changed['total'] = 1.0;
$updated = $builder->build('order.updated', $changed);
$signed = EventBuilder::encode($updated);
$tampered = str_replace('"total":1.0', '"total":1000.0', $signed);
$header = (new Signer([$oldSecret]))->header($signed, time());
[$status, $answer] = Sender::streamPost($url, ['Content-Type: application/json', "X-XCart-Signature: $header"],
                                        $tampered, 10);
$results[] = ['case' => 'tampered', 'id' => $updated['id'], 'body' => $tampered, 'status' => $status,
              'outcome' => Sender::outcome($status), 'answer' => json_decode($answer, true),
              'tampering_changed_the_body' => $tampered !== $signed];

// 4. After `xcfb connect webhooks --rotate`: the new secret alone is accepted, the old alone still is, and the
//    add-on configured with both (one v1 each) too.
$product = $builder->build('product.updated', new ProductOutput($run));
$productBody = EventBuilder::encode($product);
$results[] = report('rotated_new', $product, $productBody, (new Sender($url, new Signer([$newSecret])))->send($productBody));
$payment = $builder->build('payment.created', ['id' => 9001, 'order_id' => $order['id'],
    'order_number' => $order['order_number'], 'status' => 'S', 'type' => 'sale', 'value' => $order['total'],
    'currency' => $order['currency'], 'note' => "contract run $run"]);
$paymentBody = EventBuilder::encode($payment);
$results[] = report('rotated_old', $payment, $paymentBody, $oldSender->send($paymentBody));

// 5. The queue and its sender (Delivery), as the cron task runs them, configured with both secrets.
$outbox = new MemoryOutbox();
$customer = $builder->build('customer.updated', ['id' => 311, 'login' => "run-$run@example.com",
    'addresses' => [['id' => 5, 'firstname' => 'Ada', 'lastname' => 'Lovelace', 'custom_fields' => []]]]);
$customerBody = EventBuilder::encode($customer);
$outbox->add($customer['id'], $customer['type'], $customerBody, time());
$outbox->add($placed['id'], $placed['type'], $body, time()); // the first event, recorded again: a duplicate
$logged = [];
$delivery = new Delivery($outbox, new Sender($url, new Signer([$newSecret, $oldSecret])),
                         static function (string $line) use (&$logged): void { $logged[] = $line; });
$counts = $delivery->run();
$results[] = ['case' => 'delivery', 'id' => $customer['id'], 'body' => $customerBody, 'counts' => $counts,
              'rows' => array_map(static fn (array $row): array => ['event_id' => $row['event_id'],
                  'state' => $row['state'], 'last_status' => $row['last_status']], $outbox->rows),
              'logged' => $logged];

echo json_encode(['results' => $results], JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION), "\n";
