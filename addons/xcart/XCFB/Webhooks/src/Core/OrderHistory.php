<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Core;

use XCart\Extender\Mapping\Extender;
use XCFB\Webhooks\Logic\Recorder;
use XLite\Core\Database;

/**
 * X-Cart glue (UNTESTED against a real store): an order edited in the admin area (the history event
 * ORDER EDITED) is an order.updated with the whole order as it now is.
 *
 * @Extender\Mixin
 */
abstract class OrderHistory extends \XLite\Core\OrderHistory
{
    public function registerEvent($orderId, $code, $description, array $data = [], $comment = '', $details = [])
    {
        $result = parent::registerEvent($orderId, $code, $description, $data, $comment, $details);
        if ($code === static::CODE_ORDER_EDITED) {
            $order = Database::getRepo('XLite\Model\Order')->find($orderId);
            if ($order) {
                Recorder::instance()->order('order.updated', $order);
            }
        }
        return $result;
    }
}
