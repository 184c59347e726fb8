<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Model\Payment;

use XCart\Extender\Mapping\Extender;
use XCFB\Webhooks\Logic\Recorder;

/**
 * X-Cart glue (UNTESTED against a real store): a payment transaction that succeeded (status S) is a
 * payment.created, once per transaction (its id is in the event, so the event id is stable).
 *
 * @Extender\Mixin
 */
abstract class Transaction extends \XLite\Model\Payment\Transaction
{
    public function setStatus($value)
    {
        $before = $this->getStatus();
        $result = parent::setStatus($value);
        if ($value === static::STATUS_SUCCESS && $before !== $value && $this->getOrder()) {
            Recorder::instance()->payment($this);
        }
        return $result;
    }
}
