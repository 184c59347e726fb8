<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Logic;

use XCFB\Webhooks\Contract\EventBuilder;
use XLite\API\Endpoint\Order\DTO\OrderOutput;
use XLite\API\Endpoint\Order\Transformer\OutputTransformerInterface as OrderTransformer;
use XLite\API\Endpoint\Product\DTO\ProductOutput;
use XLite\API\Endpoint\Product\Transformer\OutputTransformerInterface as ProductTransformer;
use XLite\API\Endpoint\Profile\DTO\ProfileOutput;
use XLite\API\Endpoint\Profile\Transformer\OutputTransformerInterface as ProfileTransformer;
use XLite\Core\Config;
use XLite\Core\Database;
use XLite\Logger;
use XLite\Model\Order;
use XLite\Model\Payment\Transaction;
use XLite\Model\Product;
use XLite\Model\Profile;

/**
 * X-Cart glue (UNTESTED against a real store, see the README): turns an entity into its 5.5 API output shape
 * with the API's own output transformers, builds the event (Contract\EventBuilder) and adds it to the outbox
 * table. It never throws into the store's code: a checkout must not fail because an event could not be
 * recorded; that is logged, and the service's catch-up poller finds the order anyway.
 */
class Recorder
{
    private OrderTransformer $orders;
    private ProductTransformer $products;
    private ProfileTransformer $profiles;

    public function __construct(OrderTransformer $orders, ProductTransformer $products, ProfileTransformer $profiles)
    {
        $this->orders = $orders;
        $this->products = $products;
        $this->profiles = $profiles;
    }

    /** For the decorated models, which the container does not build. */
    public static function instance(): self
    {
        return \XCart\Container::getContainer()->get(self::class);
    }

    public function order(string $type, Order $order): void
    {
        $this->record($type, fn () => $this->orders->transform($order, OrderOutput::class));
    }

    public function product(string $type, Product $product): void
    {
        $this->record($type, fn () => $this->products->transform($product, ProductOutput::class));
    }

    public function profile(string $type, Profile $profile): void
    {
        $this->record($type, fn () => $this->profiles->transform($profile, ProfileOutput::class));
    }

    /** A payment transaction has no output DTO of its own in the API's order endpoint: its fields, by hand. */
    public function payment(Transaction $transaction): void
    {
        $this->record('payment.created', static function () use ($transaction): array {
            $order = $transaction->getOrder();
            return [
                'id' => $transaction->getTransactionId(),
                'order_id' => $order->getOrderId(),
                'order_number' => $order->getOrderNumber(),
                'status' => $transaction->getStatus(),
                'type' => $transaction->getType(),
                'value' => $transaction->getValue(),
                'currency' => $transaction->getCurrency() ? $transaction->getCurrency()->getCode() : null,
                'method_name' => $transaction->getMethodName(),
                'note' => $transaction->getNote(),
                'date' => (new \DateTimeImmutable('@' . $transaction->getDate()))->format('Y-m-d\TH:i:sO'),
            ];
        });
    }

    private function record(string $type, callable $entity): void
    {
        try {
            $event = (new EventBuilder($this->storeId()))->build($type, $entity());
            Database::getRepo('XCFB\Webhooks\Model\QueuedEvent')
                ->add($event['id'], $type, EventBuilder::encode($event), time());
        } catch (\Throwable $e) {
            Logger::getInstance()->logCustom('xcfb-webhooks', "could not record a $type event: "
                . get_class($e) . ': ' . $e->getMessage());
        }
    }

    private function storeId(): string
    {
        return (string) (Config::getInstance()->XCFB->Webhooks->store_id ?: 'xcart');
    }
}
