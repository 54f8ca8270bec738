/** What a terminal shows for each response code (protocol §11), in Chinese and English. */
export const RESPONSE_TEXT: Readonly<Record<string, readonly [string, string]>> = {
  '00': ['交易成功', 'approved'],
  '03': ['无效商户', 'invalid merchant'],
  '05': ['不予承兑', 'do not honour'],
  '12': ['无效交易', 'invalid transaction'],
  '13': ['无效金额', 'invalid amount'],
  '14': ['无效卡号', 'invalid card number'],
  '25': ['找不到原始交易', 'original transaction not found'],
  '30': ['格式错误', 'format error'],
  '40': ['请求的功能尚不支持', 'function not supported'],
  '41': ['挂失卡，请没收', 'lost card'],
  '43': ['被窃卡，请没收', 'stolen card'],
  '51': ['余额不足', 'insufficient funds'],
  '54': ['过期卡', 'expired card'],
  '55': ['密码错误 / 请输入密码', 'incorrect PIN / PIN required'],
  '59': ['有作弊嫌疑', 'suspected fraud'],
  '61': ['超出金额限制', 'exceeds amount limit'],
  '62': ['受限制的卡', 'restricted card'],
  '63': ['违反安全规定 (需主管授权)', 'security violation (supervisor needed)'],
  '64': ['原始金额不正确', 'original amount incorrect'],
  '65': ['超出次数限制', 'exceeds frequency limit'],
  '75': ['密码错误次数超限', 'PIN tries exceeded'],
  '77': ['请重新签到', 'sign in again'],
  '94': ['重复交易', 'duplicate transmission'],
  '96': ['系统故障，请稍后再试', 'system malfunction, try later'],
  '97': ['终端未登记', 'terminal not registered'],
  '99': ['PIN格式错，请重新签到', 'PIN block error, sign in again'],
  A0: ['MAC校验错，请重新签到', 'MAC failure, sign in again'],
};

export function describeResponse(rc: string): string {
  const t = RESPONSE_TEXT[rc];
  return t ? `${rc} ${t[0]} ${t[1]}` : `${rc} 交易失败 declined`;
}
