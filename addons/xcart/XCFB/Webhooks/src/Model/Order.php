<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Model;

use XCart\Extender\Mapping\Extender;
use XCFB\Webhooks\Logic\Recorder;

/**
 * X-Cart glue (UNTESTED against a real store): an order placed (processSucceed) and its payment or
 * fulfilment status changed afterwards. Status changes made while the order is being placed are part of
 * order.created, not events of their own.
 *
 * @Extender\Mixin
 */
abstract class Order extends \XLite\Model\Order
{
    private bool $xcfbPlacing = false;

    public function processSucceed()
    {
        $this->xcfbPlacing = true;
        try {
            $result = parent::processSucceed();
        } finally {
            $this->xcfbPlacing = false;
        }
        Recorder::instance()->order('order.created', $this);
        return $result;
    }

    public function setPaymentStatus($paymentStatus = null)
    {
        $before = $this->getPaymentStatusCode();
        $result = parent::setPaymentStatus($paymentStatus);
        if ($this->xcfbIsPlaced() && $before !== $this->getPaymentStatusCode()) {
            Recorder::instance()->order('order.payment_status_changed', $this);
        }
        return $result;
    }

    public function setShippingStatus($shippingStatus = null)
    {
        $before = $this->getShippingStatusCode();
        $result = parent::setShippingStatus($shippingStatus);
        if ($this->xcfbIsPlaced() && $before !== $this->getShippingStatusCode()) {
            Recorder::instance()->order('order.updated', $this);
        }
        return $result;
    }

    private function xcfbIsPlaced(): bool
    {
        return !$this->xcfbPlacing && $this->getOrderId() && $this->getOrderNumber();
    }
}
