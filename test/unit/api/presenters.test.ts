import { expect } from 'chai';
import {
  presentActivation,
  presentLogin,
  presentLogout,
  presentPasswordResetDone,
  presentPasswordResetRequested,
  presentRefresh,
  presentRegistration,
} from '../../../api/presenters/auth.js';

/** The bodies of the original backend's README, field for field. */
describe('api/presenters/auth: the original contract', function () {
  const user = { id: 1, email: 'user@example.com', passwordHash: 'secret', isActive: true };

  it('register: {user: {id, email}, token} and nothing else', function () {
    expect(presentRegistration(user, 'activation_token')).to.deep.equal({
      user: { id: 1, email: 'user@example.com' },
      token: 'activation_token',
    });
  });
  it('activate', function () {
    expect(presentActivation()).to.deep.equal({ message: 'Account successfully activated.' });
  });
  it('login: the email under "username"', function () {
    expect(presentLogin(user)).to.deep.equal({
      detail: 'Login successful',
      user: { id: 1, username: 'user@example.com' },
    });
  });
  it('logout', function () {
    expect(presentLogout()).to.deep.equal({
      detail: 'Logout successful! All tokens will be deleted. Refresh token is now invalid.',
    });
  });
  it('token refresh', function () {
    expect(presentRefresh('new_access_token')).to.deep.equal({
      detail: 'Token refreshed',
      access: 'new_access_token',
    });
  });
  it('password reset and confirm', function () {
    expect(presentPasswordResetRequested()).to.deep.equal({
      detail: 'An email has been sent to reset your password.',
    });
    expect(presentPasswordResetDone()).to.deep.equal({
      detail: 'Your Password has been successfully reset.',
    });
  });
});
